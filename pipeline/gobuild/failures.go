package gobuild

import "strconv"

// The test failure ledger: a count of the failed test runs, kept in a
// cache volume, that keys the test step's result. The engine keeps an
// exec's result under its inputs even when the tests failed, and would
// hand a failure (a flaky test, a service that was down) back to every
// later run of the same source; go test never caches a failure. After a
// failure the count moves on, so the next run's key is new: it runs the
// tests again, and go's own test cache answers for the packages that
// passed. Runs between two failures share their results, as before.

// ReadFailuresScript prints the count kept in dir (0 when there is none).
func ReadFailuresScript(dir string) string {
	return readFailures(dir) + `; echo "$n"`
}

// RecordFailureScript moves the count in dir past seen, the count the
// failed run was keyed by; a concurrent failure of the same key moves it
// no further.
func RecordFailureScript(dir string, seen int) string {
	f := failuresFile(dir)
	return readFailures(dir) + `; [ "$n" -gt ` + strconv.Itoa(seen) + ` ] || ` +
		`{ echo ` + strconv.Itoa(seen+1) + ` > '` + f + `.tmp' && mv '` + f + `.tmp' '` + f + `'; }`
}

func failuresFile(dir string) string { return dir + "/failed-runs" }

// readFailures sets $n to the count in dir; a missing or damaged file reads 0.
func readFailures(dir string) string {
	return `n=$(cat '` + failuresFile(dir) + `' 2>/dev/null) && [ "$n" -ge 0 ] 2>/dev/null || n=0`
}
