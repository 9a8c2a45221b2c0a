package scan

// Defaults of the scan gate, declared once for the pipeline and the
// module's flags.
const (
	// DefaultSeverities fail the gate.
	DefaultSeverities = "HIGH,CRITICAL"
	// DefaultScanners are what Trivy looks for.
	DefaultScanners = "vuln,secret"
)
