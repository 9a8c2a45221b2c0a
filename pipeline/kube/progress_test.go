package kube

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressOneLinePerChange: a state is written once, again only when
// it changes, and repeated as "still waiting" after the heartbeat.
func TestProgressOneLinePerChange(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.state("hello: 0/2 new pods ready")
	p.state("hello: 0/2 new pods ready")
	p.state("hello: 1/2 new pods ready")
	p.printf("Pod hello-1 Unhealthy: probe failed")
	p.state("hello: 1/2 new pods ready")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], "hello: 1/2 new pods ready") || !strings.HasSuffix(lines[2], "probe failed") {
		t.Fatalf("lines:\n%s", buf.String())
	}
	p.at = time.Now().Add(-heartbeat - time.Second)
	p.state("hello: 1/2 new pods ready")
	if !strings.Contains(buf.String(), "still waiting: hello: 1/2 new pods ready") {
		t.Fatalf("no heartbeat after %s of silence:\n%s", heartbeat, buf.String())
	}
	newProgress(nil).printf("discarded") // a nil Log is fine
}
