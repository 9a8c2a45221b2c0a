package testworld

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshRun runs cmd as the deploy user with key, checking the host key
// against the world's known_hosts line, and expects the docker group.
func sshRun(srv *SSHServer, key []byte, cmd string) error {
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	hostKeys, err := knownhostsCallback(srv.KnownHosts)
	if err != nil {
		return err
	}
	client, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{
		User: srv.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys, Timeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	sess, err := client.NewSession()
	if err != nil {
		return err
	}
	out, err := sess.CombinedOutput(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", cmd, err, out)
	}
	if strings.HasPrefix(cmd, "id") && !strings.Contains(string(out), "docker") {
		return fmt.Errorf("deploy user is not in the docker group: %s", out)
	}
	return nil
}

func knownhostsCallback(line []byte) (ssh.HostKeyCallback, error) {
	f, err := writeTemp(line)
	if err != nil {
		return nil, err
	}
	return knownhosts.New(f)
}
