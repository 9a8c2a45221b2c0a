package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// A target remembers its signing policy. Once an app on a host has taken
// a release whose images were verified against a policy, the host holds
// that policy (<app-dir>/policy.json, written under the deploy lock): a
// later deploy or rollback there without verification is refused with a
// *PolicyError naming it, before anything changes. Only an explicit
// opt-out (Unverified: the reason the run goes without verification)
// lifts the refusal, for that run, and deploys.log records it with its
// reason. A fleet's own undo of its run (Prepared's
// Rollback and Restore) goes back to what served before, and is not
// refused.

// policyFile is where an app's policy is held, beside its records.
const policyFile = "policy.json"

// PolicyMark names the policy a release's images were verified against:
// its name (e.g. .goship/policy.yaml) and its content's digest.
type PolicyMark struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

func (m PolicyMark) String() string { return m.Name + " (" + m.Digest + ")" }

// HeldPolicy is the policy an app holds on a host, and since when.
type HeldPolicy struct {
	PolicyMark
	// Since is when the verified release that set it went live; Release
	// names it, Who deployed it.
	Since   time.Time `json:"since"`
	Release string    `json:"release"`
	Who     string    `json:"who"`
}

// PolicyError refuses an unverified deploy or rollback of an app that
// holds a signing policy on a host.
type PolicyError struct {
	Verb string // deploy or rollback
	App  string
	Host string // the server, as sshconn names it
	Held HeldPolicy
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("%s of %s on %s refused, nothing changed: the app holds the signing policy %s since %s went live verified (%s by %s); verify the %s against that policy, or give the reason it runs unverified (with-unverified --reason=…; deploys.log records it)",
		e.Verb, e.App, e.Host, e.Held.PolicyMark, e.Held.Release, e.Held.Since.UTC().Format(time.RFC3339), e.Held.Who, e.Verb)
}

// UnpinnedError refuses, under a signing policy, a service whose image is
// not pinned by digest: a tag can move after it was verified.
type UnpinnedError struct {
	Service string
	Image   string // "" when the service has no image (it builds one)
}

func (e *UnpinnedError) Error() string {
	if e.Image == "" {
		return fmt.Sprintf("compose service %q has no image: under a signing policy every service runs a verified image pinned by digest (image: repo@sha256:…)", e.Service)
	}
	return fmt.Sprintf("compose service %q runs %s, not pinned by digest: under a signing policy every image must be (image: repo@sha256:…), so what runs is what was verified", e.Service, e.Image)
}

// ServiceImage is one service of a release and the image it runs.
type ServiceImage struct {
	Service string
	Image   string // "" when the service has no image
}

// Images lists every image a release of s runs: each service of its
// compose file, the app's service pinned to s.Image as the release pins
// it (a generated file has that one service), sorted by service. A
// policy check verifies each of them, sidecars included.
func Images(s Spec) ([]ServiceImage, error) {
	var err error
	if s.AppDir, s.Service, err = host.Locate(s.App, s.AppDir, s.Service); err != nil {
		return nil, err
	}
	file, err := Compose(s, s.Image, len(s.Env) > 0)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(file)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("compose file: %w", err)
	}
	out := make([]ServiceImage, 0, len(doc.Services))
	for svc, def := range doc.Services {
		out = append(out, ServiceImage{Service: svc, Image: def.Image})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}

// checkPolicy refuses, before anything connects, a verified deploy
// whose release runs an image not pinned by digest. (A reason to run
// unverified is moot for a verified release.)
func (s Spec) checkPolicy() error {
	if s.Verified == nil {
		return nil
	}
	if s.Verified.Name == "" || s.Verified.Digest == "" {
		return fmt.Errorf("the policy mark names no policy or no digest (%+v)", *s.Verified)
	}
	imgs, err := Images(s)
	if err != nil {
		return err
	}
	for _, im := range imgs {
		if !pinned(im.Image) {
			return &UnpinnedError{Service: im.Service, Image: im.Image}
		}
	}
	return nil
}

// pinned reports whether ref names its image by digest (repo@sha256:…,
// or repo:tag@sha256:…, which docker runs by the digest).
func pinned(ref string) bool {
	_, digest, ok := strings.Cut(ref, "@")
	return ok && strings.HasPrefix(digest, "sha256:") && validImage(ref) == nil
}

// heldPolicy is the policy a's app holds on its server, nil for none.
func heldPolicy(ctx context.Context, a *host.App) (*HeldPolicy, error) {
	out, err := a.Run(ctx, "read "+policyFile, fmt.Sprintf("cat %s/%s 2>/dev/null || true", host.Q(a.Dir()), policyFile), nil)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(out) == "" {
		return nil, nil
	}
	var p HeldPolicy
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		// A policy file goship cannot read still means a policy is held.
		return nil, fmt.Errorf("%s/%s on %s cannot be read (%w): the app may hold a signing policy; fix or remove the file by hand", a.Dir(), policyFile, a.Target(), err)
	}
	return &p, nil
}

// holdPolicy records that a's app took release, verified against m.
func holdPolicy(ctx context.Context, a *host.App, m PolicyMark, release, who string) error {
	data, err := json.MarshalIndent(HeldPolicy{PolicyMark: m, Since: time.Now().UTC(), Release: release, Who: who}, "", "  ")
	if err != nil {
		return err
	}
	path := host.Q(a.Dir() + "/" + policyFile)
	_, err = a.Run(ctx, "write "+policyFile, fmt.Sprintf("cat > %[1]s.tmp && mv -f %[1]s.tmp %[1]s", path), bytes.NewReader(data))
	return err
}

// policyGate is one run's policy, checked under the deploy lock before
// anything changes: it refuses an unverified run where a policy is held,
// logs an opt-out, and marks the policy once a verified release is live.
type policyGate struct {
	verb       string // deploy or rollback
	verified   *PolicyMark
	unverified string // the reason an unverified run goes ahead
	held       *HeldPolicy
}

// checkPolicyHeld reads what a's app holds and refuses an unverified
// run.
func checkPolicyHeld(ctx context.Context, a *host.App, verb string, verified *PolicyMark, unverified string) (*policyGate, error) {
	held, err := heldPolicy(ctx, a)
	if err != nil {
		return nil, err
	}
	g := &policyGate{verb: verb, verified: verified, unverified: strings.TrimSpace(unverified), held: held}
	if held != nil && verified == nil && g.unverified == "" {
		return nil, &PolicyError{Verb: verb, App: a.Name(), Host: a.Target(), Held: *held}
	}
	return g, nil
}

// begin logs an opt-out from a held policy as the run begins; a run
// whose opt-out could not be recorded does not run.
func (g *policyGate) begin(ctx context.Context, a *host.App, who string) error {
	if g == nil || g.held == nil || g.verified != nil {
		return nil
	}
	return a.AppendLog(ctx, host.LogEntry{Time: time.Now().UTC(), Event: "unverified-" + g.verb, Who: who,
		Note: fmt.Sprintf("runs without verification against the held signing policy %s, because: %s", g.held.PolicyMark, g.unverified)})
}

// end marks the policy when the run put a verified release live.
func (g *policyGate) end(ctx context.Context, a *host.App, res *Result, who string) error {
	if g == nil || g.verified == nil || res == nil || res.Outcome != outcome.Succeeded {
		return nil
	}
	if err := holdPolicy(ctx, a, *g.verified, res.Release, who); err != nil {
		return fmt.Errorf("%s went live verified, but recording the signing policy %s in %s failed: %w", res.Release, g.verified, policyFile, err)
	}
	return nil
}
