package host

import (
	"context"
	"fmt"
	"testing"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// world is one docker host behind a real sshd.
type world struct {
	srv    *testworld.SSHServer
	docker *testworld.Docker
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return &world{srv: testworld.StartSSHD(t), docker: testworld.NeedDocker(t)}
}

func (w *world) dial(t *testing.T) *sshconn.Client {
	t.Helper()
	cfg := sshconn.Config{Host: w.srv.Host, Port: w.srv.Port, User: w.srv.User, PrivateKey: w.srv.ClientKeyPEM, KnownHosts: w.srv.KnownHosts}
	c, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// app returns a fresh app name, removing its containers when the test
// ends.
func (w *world) app(t *testing.T, prefix string) (string, int) {
	t.Helper()
	port := testworld.FreePort(t)
	app := fmt.Sprintf("%s%d", prefix, port)
	t.Cleanup(func() { w.docker.RemoveComposeProject(app) })
	return app, port
}
