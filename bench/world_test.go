package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// world is what the one-host benchmarks deploy with: a registry holding
// hello's releases, an sshd standing in for the server, the local dockerd
// and an SSH client to the sshd.
type world struct {
	reg    *testworld.Registry
	srv    *testworld.SSHServer
	docker *testworld.Docker
	rel    map[string]name.Digest
	client *sshconn.Client
}

func newWorld(b *testing.B) *world {
	b.Helper()
	w := &world{reg: testworld.StartRegistry(b), srv: testworld.StartSSHD(b), docker: testworld.NeedDocker(b)}
	w.rel = testworld.HelloReleases(b, w.reg)
	cfg := sshconn.Config{Host: w.srv.Host, Port: w.srv.Port, User: w.srv.User, PrivateKey: w.srv.ClientKeyPEM, KnownHosts: w.srv.KnownHosts}
	client, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = client.Close() })
	w.client = client
	return w
}

// seedsUp sets app up the seeds' way, serving hello v1 on port: a
// registry login and a docker-compose.yml in dir, then pull and up -d.
func (w *world) seedsUp(b *testing.B, ctx context.Context, app, dir string, port int) {
	b.Helper()
	compose := fmt.Sprintf("version: \"2.4\"\nservices:\n  app:\n    image: %s/goship/hello:v1\n    ports: [\"127.0.0.1:%d:%d\"]\n", w.reg.Host, port, testworld.HelloPort)
	login := fmt.Sprintf("mkdir -p %[1]s && DOCKER_CONFIG=%[1]s/.docker docker login -u %[2]s --password-stdin %[3]s >/dev/null", dir, w.reg.Username, w.reg.Host)
	if _, err := w.client.Run(ctx, "seeds login", login, strings.NewReader(w.reg.Password)); err != nil {
		b.Fatal(err)
	}
	setup := fmt.Sprintf("cd %[1]s && cat > docker-compose.yml && export DOCKER_CONFIG=%[1]s/.docker && docker-compose -p %[2]s pull -q && docker-compose -p %[2]s up -d", dir, app)
	if _, err := w.client.Run(ctx, "seeds setup", setup, strings.NewReader(compose)); err != nil {
		b.Fatal(err)
	}
}
