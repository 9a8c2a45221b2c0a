package testworld

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DeployUser is the unprivileged account deploys log in as. It is in the
// docker group, like the deploy user the README tells users to create.
const DeployUser = "goship-deploy"

// SSHServer is a running OpenSSH server on loopback.
type SSHServer struct {
	Host string // ListenHost()
	Port int
	User string
	// ClientKeyPEM is an OpenSSH private key authorized for User.
	ClientKeyPEM []byte
	// KnownHosts is a known_hosts line pinning this server's host key.
	KnownHosts []byte
	HostKey    ssh.PublicKey
	// AppRoot is a directory the deploy user owns, for release trees.
	AppRoot string
	dir     string
}

// Addr is host:port.
func (s *SSHServer) Addr() string { return fmt.Sprintf("%s:%d", s.Host, s.Port) }

// SSHDOption adds to the sshd_config of a test server; it gets the
// server, its host key and its directory, and returns config lines.
type SSHDOption func(t testing.TB, s *SSHServer, hostKey ssh.Signer, dir string) string

// StartSSHD runs Debian's sshd on a free loopback port with a fresh ed25519
// host key and a deploy user authorized with a fresh client key.
func StartSSHD(t testing.TB, opts ...SSHDOption) *SSHServer {
	t.Helper()
	return StartSSHDOn(t, ListenHost(), opts...)
}

// StartSSHDOn is StartSSHD listening on host instead of ListenHost():
// 127.0.0.1 makes a server that this machine reaches but a Dagger
// engine's containers do not, as a private host behind a bastion.
func StartSSHDOn(t testing.TB, host string, opts ...SSHDOption) *SSHServer {
	t.Helper()
	s, bin, cfgPath := prepareSSHD(t, host, freePortOn(t, host), opts)
	startDaemon(t, "sshd", filepath.Join(s.dir, "sshd.log"), exec.Command(bin, "-D", "-e", "-f", cfgPath))
	WaitTCP(t, s.Addr(), 10*time.Second)
	return s
}

// prepareSSHD writes everything an sshd on host:port needs (host key,
// the deploy user's client key and authorized_keys, an app root it owns,
// sshd_config with opts) and returns the server, sshd's path and the
// config's path, for the caller to start it where it should run.
func prepareSSHD(t testing.TB, host string, port int, opts []SSHDOption) (*SSHServer, string, string) {
	t.Helper()
	bin := need(t, "sshd", "openssh-server")
	uid := ensureDeployUser(t)
	dir := Dir(t, "sshd")
	s := &SSHServer{Host: host, Port: port, User: DeployUser, dir: dir}

	hostPriv, hostPEM := newKey(t)
	hostKeyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	writeFile(t, hostKeyPath, hostPEM, 0o600)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	s.HostKey = hostSigner.PublicKey()
	s.KnownHosts = []byte(knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.HostKey) + "\n")

	clientPriv, clientPEM := newKey(t)
	s.ClientKeyPEM = clientPEM
	clientSigner, err := ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		t.Fatal(err)
	}
	authDir := filepath.Join(dir, "authorized_keys")
	if err := os.MkdirAll(authDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(authDir, DeployUser), ssh.MarshalAuthorizedKey(clientSigner.PublicKey()), 0o644)

	s.AppRoot = filepath.Join(dir, "apps")
	if err := os.MkdirAll(s.AppRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(s.AppRoot, uid, uid); err != nil {
		t.Fatal(err)
	}

	config := fmt.Sprintf(`Port %d
ListenAddress %s
HostKey %s
PidFile %s
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile %s/%%u
AllowUsers %s
AllowTcpForwarding yes
ClientAliveInterval 5
MaxStartups 50
MaxSessions 50
LogLevel VERBOSE
`, s.Port, s.Host, hostKeyPath, filepath.Join(dir, "sshd.pid"), authDir, DeployUser)
	for _, o := range opts {
		config += o(t, s, hostSigner, dir)
	}
	cfgPath := filepath.Join(dir, "sshd_config")
	writeFile(t, cfgPath, []byte(config), 0o600)
	// sshd's privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	return s, bin, cfgPath
}

// ensureDeployUser creates the deploy user (idempotent) in the docker group
// and returns its uid. useradd leaves the account locked ("!"), which sshd
// refuses without PAM, so its password field is set to "*": no password
// login, key login allowed.
func ensureDeployUser(t testing.TB) int {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("testworld: the SSH test world creates a system user and must run as root")
	}
	if _, err := user.Lookup(DeployUser); err != nil {
		need(t, "useradd", "passwd")
		run(t, nil, "useradd", "--create-home", "--shell", "/bin/sh", DeployUser)
	}
	if _, err := user.LookupGroup("docker"); err != nil {
		t.Fatal("testworld: no docker group: install the Debian package \"docker.io\"")
	}
	run(t, nil, "usermod", "-p", "*", "-aG", "docker", DeployUser)
	u, err := user.Lookup(DeployUser)
	if err != nil {
		t.Fatal(err)
	}
	var uid int
	if _, err := fmt.Sscan(u.Uid, &uid); err != nil {
		t.Fatal(err)
	}
	return uid
}

func newKey(t testing.TB) (ed25519.PrivateKey, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return priv, pem.EncodeToMemory(block)
}

// NewClientKey returns a fresh, unauthorized OpenSSH private key.
func NewClientKey(t testing.TB) []byte {
	t.Helper()
	_, p := newKey(t)
	return p
}

// Exec runs a command on the server as root (not over SSH), for test
// assertions about the server's state.
func (s *SSHServer) Exec(t testing.TB, argv ...string) string {
	t.Helper()
	return run(t, nil, argv...)
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

func randomToken(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Authorize adds a public key to the deploy user's authorized keys.
func (s *SSHServer) Authorize(t testing.TB, pub ssh.PublicKey) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.dir, "authorized_keys", DeployUser), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(pub)); err != nil {
		t.Fatal(err)
	}
}
