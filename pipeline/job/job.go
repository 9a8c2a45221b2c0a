// Package job is what goship's Dagger module hands its runner: one typed
// job per call, JSON on the wire. The module only gathers settings; the
// runner (pipeline/cmd/goship-runner) checks them whole, then connects,
// deploys and reports. Secrets travel as paths of files the module mounts
// into the runner's container, never as values, so no secret reaches a
// job file, an argv, a layer or a cache key.
//
// It imports nothing heavy: the module compiles it on every cold engine.
package job

import (
	"encoding/json"
	"fmt"
)

// Verb is what a job asks the runner to do.
type Verb string

// The verbs.
const (
	VerbDeploy      Verb = "deploy"
	VerbRollback    Verb = "rollback"
	VerbReleases    Verb = "releases"
	VerbStatus      Verb = "status"
	VerbUnlock      Verb = "unlock"
	VerbLogs        Verb = "logs"
	VerbExec        Verb = "exec"
	VerbDetails     Verb = "details"
	VerbMaintenance Verb = "maintenance"
	VerbPublish     Verb = "publish"
	VerbVerify      Verb = "verify"
	VerbMirror      Verb = "mirror"
	VerbPolicy      Verb = "policy"
	VerbCIEngine    Verb = "ci-engine"
)

// Job is one call of the runner.
type Job struct {
	Verb Verb `json:"verb"`
	// Check asks the runner to check the job whole and touch nothing: a
	// release checks its deploy this way before ci and publish run.
	Check bool `json:"check,omitempty"`
	// Run is who is shipping what: the same for every verb.
	Run Run `json:"run"`
	// Trust is how registries are reached.
	Trust Trust `json:"trust"`
	// Policy is the repository's signing policy, when it has one.
	Policy *Policy `json:"policy,omitempty"`
	// Notify are files each holding one webhook URL (they carry tokens).
	Notify []string `json:"notify,omitempty"`
	// Target is where target verbs act (exactly one of its members).
	Target *Target `json:"target,omitempty"`

	Deploy      *Deploy      `json:"deploy,omitempty"`
	Rollback    *Rollback    `json:"rollback,omitempty"`
	Logs        *Logs        `json:"logs,omitempty"`
	Exec        *Exec        `json:"exec,omitempty"`
	Maintenance *Maintenance `json:"maintenance,omitempty"`
	Publish     *Publish     `json:"publish,omitempty"`
	Verify      *Verify      `json:"verify,omitempty"`
	Mirror      *Mirror      `json:"mirror,omitempty"`
	CIEngine    *CIEngine    `json:"ciEngine,omitempty"`
}

// Run is what every verb knows about this goship run.
type Run struct {
	App     string `json:"app"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Ref     string `json:"ref,omitempty"`
	Created string `json:"created,omitempty"` // RFC 3339
	// Who names the deployer in records, logs and notifications.
	Who string `json:"who"`
	// Port is the port the app listens on in its container.
	Port int `json:"port"`
	// Mirror is the registry prefix that replaces Docker Hub for default
	// images (the blue-green proxy's, here).
	Mirror string `json:"mirror,omitempty"`
	// Goship is goship's own version, for provenance.
	Goship string `json:"goship,omitempty"`
}

// Trust is how registry connections are secured.
type Trust struct {
	// CA is a file of extra PEM certificates to trust.
	CA string `json:"ca,omitempty"`
	// PlainHTTP are registries (host[:port]) reached over plain HTTP.
	PlainHTTP []string `json:"plainHTTP,omitempty"`
}

// Policy is the signing policy the repository declares
// (.goship/policy.yaml), and how this call treats it.
type Policy struct {
	// Repo is the repository's directory in the runner: key paths in the
	// policy are relative to it.
	Repo string `json:"repo"`
	// File is the policy file's path in the repository; messages and
	// target records name the policy by it.
	File string `json:"file"`
	// Unverified, when set, is the logged reason this deploy or rollback
	// skips verification on a target that remembers the policy.
	Unverified string `json:"unverified,omitempty"`
}

// Credentials are registry credentials; Password is a file.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Given reports whether any credential is set.
func (c *Credentials) Given() bool { return c != nil && (c.Username != "" || c.Password != "") }

// Result is what the runner answers on stdout.
type Result struct {
	// Output is what the function returns to the user.
	Output string `json:"output"`
	// Outcome is how a deploy or rollback ended (pipeline/outcome's
	// words), empty for other verbs.
	Outcome string `json:"outcome,omitempty"`
	// Error, when set, is why the job failed, for the user.
	Error string `json:"error,omitempty"`
	// Reference is the image a publish pushed (repo@sha256:…).
	Reference string `json:"reference,omitempty"`
}

// Encode is the job as the runner reads it.
func (j Job) Encode() ([]byte, error) { return json.MarshalIndent(j, "", "  ") }

// Decode reads a job, refusing fields it does not know: a runner older
// than the module must say so, not drop a setting.
func Decode(data []byte) (Job, error) {
	var j Job
	dec := json.NewDecoder(bytesReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Job{}, fmt.Errorf("reading the job: %w (is the runner image older than the module? give a --runner-image built from the same goship version)", err)
	}
	return j, nil
}
