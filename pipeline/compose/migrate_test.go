package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

func TestMigrateArgvSplitsLikeAShellWithoutExpanding(t *testing.T) {
	for in, want := range map[string][]string{
		"migrate up":                          {"migrate", "up"},
		"  migrate   up  ":                    {"migrate", "up"},
		`sh -c 'echo $HOME && ls'`:            {"sh", "-c", "echo $HOME && ls"},
		`migrate --dir "db/my migrations"`:    {"migrate", "--dir", "db/my migrations"},
		`say "a \"quoted\" \$word" it\'s`:     {"say", `a "quoted" $word`, "it's"},
		`empty '' ""`:                         {"empty", "", ""},
		`a\ b`:                                {"a b"},
		"migrate --to=$(rm -rf /) `whoami` ;": {"migrate", "--to=$(rm", "-rf", "/)", "`whoami`", ";"},
	} {
		got, err := migrateArgv(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("migrateArgv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		`migrate "up`:                   "unclosed double quote",
		`migrate 'up`:                   "unclosed single quote",
		`migrate up\`:                   "ends with a backslash",
		"":                              "no command",
		"migrate\nup":                   "one line",
		strings.Repeat("x", 5000):       "longer than",
		"migrate \x00":                  "no NUL",
		"  \t ":                         "no command",
		`migrate "up" 'down' "sideways`: "unclosed double quote",
	} {
		if _, err := migrateArgv(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("migrateArgv(%.20q) = %v, want %q", in, err, want)
		}
	}
}

// The migration runs once, with the new image and the new release's .env,
// on the app's network, while the old release still serves (it answers
// the migration), before compose up. A failing one stops the deploy with
// its exit code and output and the old release serving; one that hangs
// is ended at its deadline; a passing one is recorded; and a rollback
// past it says plainly that the schema did not go back.
func TestMigrationRunsBeforeTheSwitchAndStopsTheDeployWhenItFails(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, port := w.app(t, "mig")
	c := w.dial(t)
	ctx := context.Background()
	r1, err := Deploy(ctx, c, w.spec(app, port, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	migrating := w.migratorImage(t)
	spec := func(env string) Spec {
		s := w.spec(app, port, "v2")
		s.Image, s.Migrate = migrating.String(), "migrate"
		// compose v1 names the running release's container <app>_app_1 on
		// the app's network.
		s.Env = []byte("MIGRATE_NOTE=from-the-env-file\nMIGRATE_PEER=" + app + "_app_1:8080\n" + env)
		return s
	}

	// A failing migration: the deploy stops before compose up.
	res, err := Deploy(ctx, c, spec("MIGRATE_EXIT=3\n"))
	t.Logf("a failing migration: %v", err)
	var merr *MigrationError
	if !errors.As(err, &merr) || merr.ExitCode != 3 {
		t.Fatalf("a migration exiting 3: %v", err)
	}
	for _, want := range []string{"exit code 3", "migrator of the new image", "env from-the-env-file", "peer answered v1", "migration exits 3", r1.Release + " kept serving"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if res.Outcome != outcome.Unchanged || version(t, port) != "v1" {
		t.Fatalf("after a failed migration: outcome %s, /version %q", res.Outcome, version(t, port))
	}
	if rec := w.record(t, app, res.Release); rec.Migration == nil || rec.Migration.ExitCode != 3 || rec.Migration.Command != "migrate" || rec.Outcome != outcome.ReleaseFailed {
		t.Fatalf("release.json of the failed release: %+v, migration %+v", rec, rec.Migration)
	}

	// A migration that hangs is ended at with-migration --timeout.
	hung := spec("MIGRATE_SLEEP=5m\n")
	hung.Timeouts.Migrate = 3 * time.Second
	start := time.Now()
	res, err = Deploy(ctx, c, hung)
	var de *sshconn.DeadlineError
	if !errors.As(err, &de) || !errors.As(err, &merr) || merr.ExitCode != -1 || !strings.Contains(de.Step, "migration") || !strings.Contains(err.Error(), "with-migration --timeout") {
		t.Fatalf("a hung migration: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second+40*time.Second {
		t.Fatalf("a hung migration with a 3s deadline held the deploy for %s", took)
	}
	if left := w.docker.Run(t, nil, "ps", "-aq", "--filter", "name=goship-migrate-"+app); left != "" {
		t.Fatalf("the hung migration's container is still there: %s", left)
	}
	if res.Outcome != outcome.Unchanged || version(t, port) != "v1" {
		t.Fatalf("after a hung migration: outcome %s, /version %q", res.Outcome, version(t, port))
	}

	// A passing migration: the release goes live and records it.
	r2, err := Deploy(ctx, c, spec("MIGRATE_EXIT=0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q after the migrated deploy", got)
	}
	if rec := w.record(t, app, r2.Release); !rec.Migration.OK() || rec.Outcome != outcome.ReleaseHealthy {
		t.Fatalf("release.json of the migrated release: %+v, migration %+v", rec, rec.Migration)
	}

	// Back to v1: it runs, and the result says the schema stayed.
	back, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: w.srv.AppRoot + "/" + app, Who: "test", Health: w.spec(app, port, "v1").Health})
	if err != nil {
		t.Fatal(err)
	}
	if back.Release != r1.Release || !strings.Contains(back.Schema, "DID NOT GO BACK") || !strings.Contains(back.Schema, r2.Release) {
		t.Fatalf("rollback past the migration: release %s, schema note %q", back.Release, back.Schema)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q after the rollback", got)
	}
}

// Blue-green: a failing migration stops the deploy before the new color
// starts; the serving color (which the migration reached on the proxy's
// network) serves throughout and the proxy never switches.
func TestBlueGreenMigrationFailsBeforeTheSwitch(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	app, port := w.bgApp(t, "bgmig")
	ctx := context.Background()
	r1, err := Deploy(ctx, w.dial(t), w.bgSpec(app, port, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	spec := w.bgSpec(app, port, "v2")
	spec.Image, spec.Migrate = w.migratorImage(t).String(), "migrate"
	spec.Env = []byte("MIGRATE_PEER=" + upstream(app, ColorBlue, testworld.HelloPort) + "\nMIGRATE_EXIT=7\n")
	res, err := Deploy(ctx, w.dial(t), spec)
	var merr *MigrationError
	if !errors.As(err, &merr) || merr.ExitCode != 7 || !strings.Contains(err.Error(), "peer answered v1") {
		t.Fatalf("a failing migration under blue-green: %v", err)
	}
	if res.Outcome != outcome.Unchanged || version(t, port) != "v1" {
		t.Fatalf("outcome %s, /version %q", res.Outcome, version(t, port))
	}
	if ids := w.docker.Run(t, nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+app+"-"+ColorGreen); ids != "" {
		t.Fatalf("the new color runs after its migration failed: %s", ids)
	}
	cur, err := Releases(ctx, w.dial(t), app, w.srv.AppRoot+"/"+app)
	if err != nil || len(cur) < 2 || !cur[1].Current || cur[1].Name != r1.Release {
		t.Fatalf("releases after the failed migration: %+v (%v)", cur, err)
	}
}

// record reads one release's release.json from the server (this machine).
func (w *world) record(t *testing.T, app, release string) host.Record {
	t.Helper()
	recs, err := Releases(context.Background(), w.dial(t), app, w.srv.AppRoot+"/"+app)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == release {
			return r
		}
	}
	t.Fatalf("no release %s of %s", release, app)
	return host.Record{}
}

// migratorSource is the entrypoint of the migrating test image: "migrate"
// says what it sees (its .env, the release it reaches on the app's
// network), sleeps MIGRATE_SLEEP and exits MIGRATE_EXIT; anything else
// runs hello-service.
const migratorSource = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		fmt.Println("migrator of the new image")
		fmt.Println("env", os.Getenv("MIGRATE_NOTE"))
		if peer := os.Getenv("MIGRATE_PEER"); peer != "" {
			c := &http.Client{Timeout: 5 * time.Second}
			if resp, err := c.Get("http://" + peer + "/version"); err != nil {
				fmt.Println("peer:", err)
			} else {
				b, _ := io.ReadAll(resp.Body)
				fmt.Printf("peer answered %s\n", b)
			}
		}
		if d, err := time.ParseDuration(os.Getenv("MIGRATE_SLEEP")); err == nil {
			time.Sleep(d)
		}
		code, _ := strconv.Atoi(os.Getenv("MIGRATE_EXIT"))
		fmt.Fprintln(os.Stderr, "migration exits", code)
		os.Exit(code)
	}
	err := syscall.Exec("/app", append([]string{"/app"}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
`

// migratorImage pushes hello v2 with the migrator as its entrypoint.
func (w *world) migratorImage(t *testing.T) name.Digest {
	t.Helper()
	dir := testworld.Dir(t, "migrator")
	for f, data := range map[string]string{"go.mod": "module migrator\n\ngo 1.22\n", "main.go": migratorSource} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "entry")
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off", "GOFLAGS="}
	if out, err := testworld.Run(context.Background(), nil, env, "sh", "-c", "cd "+dir+" && go build -o entry ."); err != nil {
		t.Fatalf("build the migrator: %v %s", err, out)
	}
	entry, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := os.ReadFile(testworld.BuildHelloBinary(t, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	spec := image.DefaultRuntimeSpec(testworld.HelloPort)
	spec.BinaryPath = "/entry"
	spec.Healthcheck = &image.Healthcheck{Command: []string{"/app", "health"}, Interval: 2 * time.Second, Timeout: 2 * time.Second, Retries: 3}
	img, err := image.Assemble(spec, image.File{Path: "/entry", Mode: 0o755, Content: entry}, image.File{Path: "/app", Mode: 0o755, Content: hello})
	if err != nil {
		t.Fatal(err)
	}
	return w.reg.Push(t, img, fmt.Sprintf("goship/hello-migrating:v2-%d", time.Now().UnixNano()))
}
