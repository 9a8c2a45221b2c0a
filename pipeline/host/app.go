// Package host runs goship's mechanics on one app's directory on a docker
// host over SSH, whatever the deploy strategy: release directories, the
// deploy lock (flock held by the SSH session), the health gate through an
// SSH tunnel, getting the image there (registry pull or docker load), the
// Records (release.json, deploys.log, current), the preflight and pruning.
// It knows nothing of strategies or the proxy; pipeline/compose and
// pipeline/proxy build on it.
//
// Layout under the app dir (default /opt/<app>):
//
//	releases/<UTC yyyymmddHHMMSS>-<tag>/compose.yaml, .env (0600), release.json
//	current -> releases/<…>   the release that last passed its health gate
//	shared/                   what relative paths in the user's compose file
//	                          (bind mounts, env_file) point at; outlives releases
//	deploys.log               one JSON line per attempt and outcome
//	policy.json               the signing policy the app holds, once a
//	                          verified release went live (pipeline/compose)
//	.lock, .lock.owner        the deploy lock (flock, held by the SSH session)
//	                          and its holder, written and cleared under the lock
package host

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"al.essio.dev/pkg/shellescape"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// App is one app's directory on one docker host, reached over c.
type App struct {
	c       *sshconn.Client
	app     string
	appDir  string
	service string
	project string // compose project: the app, or the app in one color
	compose string // "docker compose" or "docker-compose", learnt by Preflight
	// timeouts bound the long steps (zero fields: the defaults).
	timeouts Timeouts
}

// Q quotes s for the server's shell.
func Q(s string) string { return shellescape.Quote(s) }

// New is app (already validated, see Locate) in appDir on the server
// behind c, its compose service service.
func New(c *sshconn.Client, app, appDir, service string) *App {
	return &App{c: c, app: app, appDir: appDir, service: service, project: app}
}

// Open validates where app lives (see Locate) and returns it.
func Open(c *sshconn.Client, app, appDir, service string) (*App, error) {
	appDir, service, err := Locate(app, appDir, service)
	if err != nil {
		return nil, err
	}
	return New(c, app, appDir, service), nil
}

// WithProject is a acting on another compose project of the same app
// directory (a blue-green color).
func (s *App) WithProject(project string) *App {
	cp := *s
	cp.project = project
	return &cp
}

// Name is the app's name.
func (s *App) Name() string { return s.app }

// Dir is the app's directory on the server.
func (s *App) Dir() string { return s.appDir }

// Service is the compose service deployed and checked.
func (s *App) Service() string { return s.service }

// Project is the compose project this value acts on.
func (s *App) Project() string { return s.project }

// ComposeBin is the server's compose command (after Preflight).
func (s *App) ComposeBin() string { return s.compose }

// Client is the SSH connection.
func (s *App) Client() *sshconn.Client { return s.c }

// Target names the server in messages.
func (s *App) Target() string { return s.c.Target() }

// Run runs script on the server; what names the step in errors.
func (s *App) Run(ctx context.Context, what, script string, stdin io.Reader) (string, error) {
	return s.c.Run(ctx, what, script, stdin)
}

var (
	appRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	serviceRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	dirRE     = regexp.MustCompile(`^/[A-Za-z0-9_./-]*$`)
)

// ValidateApp checks an app name.
func ValidateApp(app string) error {
	if !appRE.MatchString(app) {
		return fmt.Errorf("app name %q: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit", app)
	}
	return nil
}

// ValidDir reports whether dir is an absolute path goship can quote
// safely: no spaces, no '..', not /.
func ValidDir(dir string) bool {
	return dirRE.MatchString(dir) && !strings.Contains(dir, "..") && dir != "/"
}

// DefaultService is the compose service deployed and checked when none
// is named.
const DefaultService = "app"

// DefaultAppDir is where app lives on a server when no directory is
// named.
func DefaultAppDir(app string) string { return "/opt/" + app }

// Locate validates where an app lives on the server and fills the
// defaults: app dir /opt/<app>, service "app".
func Locate(app, appDir, service string) (string, string, error) {
	if err := ValidateApp(app); err != nil {
		return "", "", err
	}
	if appDir == "" {
		appDir = DefaultAppDir(app)
	}
	if !ValidDir(appDir) {
		return "", "", fmt.Errorf("app dir %q: want an absolute path without spaces or '..'", appDir)
	}
	if service == "" {
		service = DefaultService
	}
	if !serviceRE.MatchString(service) {
		return "", "", fmt.Errorf("compose service %q is not a valid service name", service)
	}
	return strings.TrimRight(appDir, "/"), service, nil
}

// SharedDir is the app-level directory that relative host paths in a
// user's compose file resolve against: it outlives releases, as the
// shared/ directory of Capistrano and Kamal does, so `./data:/data` keeps
// its data across deploys and pruning.
func SharedDir(appDir string) string { return strings.TrimRight(appDir, "/") + "/shared" }
