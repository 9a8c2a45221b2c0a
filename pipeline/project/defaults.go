package project

// DefaultPort is the port a service listens on unless the project says
// otherwise: the container port of every deploy target.
const DefaultPort = 8080

// DefaultHealthPath is the HTTP path every target's health gate GETs
// unless the deploy names another.
const DefaultHealthPath = "/healthz"

// DefaultPolicyFile is where a repository declares its signing policy.
const DefaultPolicyFile = ".goship/policy.yaml"
