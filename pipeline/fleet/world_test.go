package fleet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// world is a registry with hello v1, v2 (and a broken v3) and the local
// dockerd, shared by the scenarios of one test; each scenario makes its
// own hosts.
type world struct {
	reg      *testworld.Registry
	docker   *testworld.Docker
	releases map[string]name.Digest
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{reg: testworld.StartRegistry(t), docker: testworld.NeedDocker(t)}
	w.releases = testworld.HelloReleases(t, w.reg)
	return w
}

// server is one sshd standing in for a server. Every host runs on the same
// dockerd, so each gets its own app name (the compose project) and its
// own published port; the app dir lives under its sshd's AppRoot.
type server struct {
	srv  *testworld.SSHServer
	app  string
	port int
}

// hosts starts n sshds with distinct ports and host keys, all accepting
// one deploy key, as a fleet's servers do, and returns them with their
// configs, built the way a user's hosts file is read.
func (w *world) hosts(t *testing.T, n int) ([]*server, []sshconn.Config) {
	t.Helper()
	var hs []*server
	var file, knownHosts bytes.Buffer
	for i := 0; i < n; i++ {
		srv := testworld.StartSSHD(t)
		port := testworld.FreePort(t)
		app := fmt.Sprintf("fleet%d", port)
		t.Cleanup(func() { w.docker.RemoveComposeProject(app) })
		if i > 0 {
			signer, err := ssh.ParsePrivateKey(hs[0].srv.ClientKeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			srv.Authorize(t, signer.PublicKey())
		}
		hs = append(hs, &server{srv: srv, app: app, port: port})
		fmt.Fprintf(&file, "%s@%s  # host %d\n", srv.User, srv.Addr(), i+1)
		knownHosts.Write(srv.KnownHosts)
	}
	addrs, err := ParseHostsFile(file.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := Configs(addrs, sshconn.Config{PrivateKey: hs[0].srv.ClientKeyPEM, KnownHosts: knownHosts.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return hs, cfgs
}

// plan deploys version to hs, each host with its own app and port.
func (w *world) plan(hs []*server, cfgs []sshconn.Config, version string) Plan {
	byAddr := map[string]*server{}
	for i, h := range hs {
		byAddr[cfgs[i].Addr()] = h
	}
	return Plan{
		Hosts: cfgs,
		Spec: compose.Spec{
			Image: w.releases[version].String(), Version: version, Who: "test@goship",
			Health:   host.Health{Timeout: 20 * time.Second, Interval: 250 * time.Millisecond, Settle: 2 * time.Second},
			Transfer: host.Registry{Host: w.reg.Host, Username: w.reg.Username, Password: w.reg.Password},
		},
		ForHost: func(cfg sshconn.Config, spec compose.Spec) compose.Spec {
			h := byAddr[cfg.Addr()]
			spec.App, spec.AppDir = h.app, h.srv.AppRoot+"/"+h.app
			spec.Publish = fmt.Sprintf("127.0.0.1:%d:%d", h.port, testworld.HelloPort)
			return spec
		},
	}
}

// deployAll puts every host on version, all at once.
func (w *world) deployAll(t *testing.T, hs []*server, cfgs []sshconn.Config, version string) *Report {
	t.Helper()
	p := w.plan(hs, cfgs, version)
	p.Parallel = len(hs)
	rep, err := Run(context.Background(), p)
	if err != nil {
		t.Fatalf("deploy %s to every host: %v\n%s", version, err, FormatReport(rep))
	}
	return rep
}

// version GETs /version on a host's published port.
func version(port int) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/version", port))
	if err != nil {
		return "down"
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// wantVersions checks what every host serves.
func wantVersions(t *testing.T, hs []*server, want string) {
	t.Helper()
	for i, h := range hs {
		if got := version(h.port); got != want {
			t.Errorf("host %d serves %q, want %q", i+1, got, want)
		}
	}
}

// releaseCount is how many releases a host has.
func releaseCount(t *testing.T, h *server) int {
	t.Helper()
	return len(strings.Fields(h.srv.Exec(t, "sh", "-c", "ls "+h.srv.AppRoot+"/"+h.app+"/releases")))
}

// startProbers probes each host's /healthz every 20 ms.
func startProbers(hs []*server) []*testworld.Prober {
	var ps []*testworld.Prober
	for _, h := range hs {
		ps = append(ps, testworld.StartProber(fmt.Sprintf("http://127.0.0.1:%d/healthz", h.port)))
	}
	return ps
}

// outage is a run of failed probes.
type outage struct{ from, to time.Time }

// outages groups p's failures less than 250 ms apart into outages.
func outages(p *testworld.Prober) []outage {
	var out []outage
	for _, f := range p.Failures() {
		if n := len(out); n > 0 && f.At.Sub(out[n-1].to) < 250*time.Millisecond {
			out[n-1].to = f.At
			continue
		}
		out = append(out, outage{f.At, f.At})
	}
	return out
}

// reportByHost finds a host's line of a report.
func reportByHost(t *testing.T, rep *Report, cfg sshconn.Config) HostReport {
	t.Helper()
	for _, h := range rep.Hosts {
		if h.Host == cfg.Addr() {
			return h
		}
	}
	t.Fatalf("report has no line for %s", cfg.Addr())
	return HostReport{}
}
