package testworld

import (
	"fmt"
	"testing"
)

// A network that a running container still uses goes all the same: a
// cleanup that ran before the container's own used to leave it behind,
// and leftovers exhaust docker's address pools.
func TestRemoveNetworkCutsOffAContainerStillOnIt(t *testing.T) {
	docker := NeedDocker(t)
	img := ProxyImage(t, docker)
	network := fmt.Sprintf("gsnet%d", FreePort(t))
	docker.Run(t, nil, "network", "create", network)
	container := network + "-caddy"
	docker.RemoveContainer(t, container)
	docker.Run(t, nil, "run", "-d", "--name", container, "--network", network, "--entrypoint", "/usr/bin/caddy", img, "run")
	if _, err := docker.Try(nil, "network", "rm", network); err == nil {
		t.Fatal("docker removed a network in use: nothing here for RemoveNetwork to do")
	}

	docker.RemoveNetwork(network)
	if _, err := docker.Try(nil, "network", "inspect", network); err == nil {
		t.Fatalf("network %s is still there", network)
	}
	if state := docker.Run(t, nil, "inspect", "--format", "{{.State.Running}}", container); state != "true" {
		t.Fatalf("the container was stopped (running=%s); only its network should go", state)
	}
}
