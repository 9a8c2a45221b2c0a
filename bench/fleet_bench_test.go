package bench

// BenchmarkFleetRolling measures a fleet run's wall time, v1 -> v2 with
// recreate and goship's default health gate (1 s interval, 5 s settle),
// for 1, 3 and 6 hosts at parallel 1 and 3, and prints one table:
//
//	go test -run '^$' -bench FleetRolling -benchtime 1x ./bench/
//
// The hosts are sshd instances on this one machine over one dockerd, so
// they share two cores, and only the first host of a run really pulls
// v2: the others find it in the shared image store. On real servers each
// host pulls in parallel on its own machine.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

func BenchmarkFleetRolling(b *testing.B) {
	reg := testworld.StartRegistry(b)
	docker := testworld.NeedDocker(b)
	rel := testworld.HelloReleases(b, reg)

	// Six hosts sharing one deploy key, as a fleet's servers do.
	const maxHosts = 6
	var srvs []*testworld.SSHServer
	var knownHosts bytes.Buffer
	for i := 0; i < maxHosts; i++ {
		srv := testworld.StartSSHD(b)
		if i > 0 {
			signer, err := ssh.ParsePrivateKey(srvs[0].ClientKeyPEM)
			if err != nil {
				b.Fatal(err)
			}
			srv.Authorize(b, signer.PublicKey())
		}
		srvs = append(srvs, srv)
		knownHosts.Write(srv.KnownHosts)
	}

	type row struct {
		hosts, parallel int
		took            time.Duration
		perHost         time.Duration
		failed          int // failed probes, all hosts together
	}
	var rows []row
	for i := 0; i < b.N; i++ {
		rows = rows[:0]
		for _, n := range []int{1, 3, 6} {
			for _, parallel := range []int{1, 3} {
				// Fresh apps and ports per run: each run starts from v1.
				apps := map[string]fleetApp{}
				var cfgs []sshconn.Config
				for _, srv := range srvs[:n] {
					cfg := sshconn.Config{Host: srv.Host, Port: srv.Port, User: srv.User, PrivateKey: srvs[0].ClientKeyPEM, KnownHosts: knownHosts.Bytes()}
					port := testworld.FreePort(b)
					app := fmt.Sprintf("fbench%d", port)
					apps[cfg.Addr()] = fleetApp{app, port}
					cfgs = append(cfgs, cfg)
				}
				plan := func(version string) fleet.Plan {
					return fleet.Plan{
						Hosts: cfgs,
						Spec: compose.Spec{
							Image: rel[version].String(), Version: version, Who: "bench",
							Transfer: host.Registry{Host: reg.Host, Username: reg.Username, Password: reg.Password},
						},
						ForHost: func(cfg sshconn.Config, spec compose.Spec) compose.Spec {
							a := apps[cfg.Addr()]
							spec.App, spec.AppDir = a.app, srvByAddr(srvs, cfg).AppRoot+"/"+a.app
							spec.Publish = fmt.Sprintf("127.0.0.1:%d:%d", a.port, testworld.HelloPort)
							return spec
						},
					}
				}
				// Bounded: a run that hangs fails the benchmark instead.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				base := plan("v1")
				base.Parallel = n
				if rep, err := fleet.Run(ctx, base); err != nil {
					cancel()
					b.Fatalf("v1 to %d hosts: %v\n%s", n, err, fleet.FormatReport(rep))
				}
				for _, ref := range []string{rel["v2"].String()} {
					_, _ = docker.Try(nil, "image", "rm", "-f", ref)
				}
				var probers []*testworld.Prober
				for _, cfg := range cfgs {
					probers = append(probers, startProber(apps[cfg.Addr()].port))
				}
				up := plan("v2")
				up.Parallel = parallel
				start := time.Now()
				rep, err := fleet.Run(ctx, up)
				took := time.Since(start)
				cancel()
				if err != nil {
					b.Fatalf("v2 to %d hosts at parallel %d: %v\n%s", n, parallel, err, fleet.FormatReport(rep))
				}
				r := row{hosts: n, parallel: parallel, took: took}
				for i, p := range probers {
					failed, _ := finish(p, apps[cfgs[i].Addr()].port)
					r.failed += failed
					r.perHost += rep.Hosts[i].Took
				}
				r.perHost /= time.Duration(n)
				rows = append(rows, r)
				for _, a := range apps {
					docker.RemoveComposeProject(a.app)
				}
			}
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "HOSTS\tPARALLEL\tWALL TIME\tMEAN PER HOST\tFAILED PROBES (ALL HOSTS, 20 ms)")
	for _, r := range rows {
		_, _ = fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\n", r.hosts, r.parallel, r.took.Round(100*time.Millisecond), r.perHost.Round(100*time.Millisecond), r.failed)
		b.ReportMetric(r.took.Seconds(), fmt.Sprintf("wall-s-%dhosts-p%d", r.hosts, r.parallel))
	}
	_ = tw.Flush()
}

// fleetApp is one host's app in a fleet run: the hosts share one
// dockerd, so each has its own compose project and port.
type fleetApp struct {
	app  string
	port int
}

func srvByAddr(srvs []*testworld.SSHServer, cfg sshconn.Config) *testworld.SSHServer {
	for _, s := range srvs {
		if s.Port == cfg.Port {
			return s
		}
	}
	return nil
}
