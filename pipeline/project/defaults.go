package project

// DefaultPort is the port a service listens on unless the project says
// otherwise: the container port of every deploy target.
const DefaultPort = 8080
