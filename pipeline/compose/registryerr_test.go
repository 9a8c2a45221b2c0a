package compose

import (
	"github.com/goship-dev/goship/pipeline/host"

	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A wrong registry password on the server is named as such, and docker's
// warning about unencrypted credentials (printed by a login that worked)
// never reaches an error: it misleads about what failed.
func TestServerPullErrorsSayWhatFailed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "pullerr")
	ctx := context.Background()

	wrong := w.spec(app, port, "v1")
	wrong.Transfer = host.Registry{Host: w.reg.Host, Username: w.reg.Username, Password: "not-the-password"}
	_, err := Deploy(ctx, c, wrong)
	if err == nil || !strings.Contains(err.Error(), "refused the server's login") {
		t.Fatalf("wrong password: %v", err)
	}

	missing := w.spec(app, port, "v1")
	missing.Image = w.reg.Host + "/goship/hello:no-such-tag"
	_, err = Deploy(ctx, c, missing)
	if err == nil || !strings.Contains(err.Error(), "no-such-tag") {
		t.Fatalf("missing tag: %v", err)
	}
	if strings.Contains(strings.ToLower(err.Error()), "unencrypted") {
		t.Fatalf("the error carries docker's credential-store warning: %v", err)
	}
}

// The files of a release carry the time they were written.
func TestReleaseFilesHaveARealMtime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, port := w.app(t, "mtime")
	if _, err := Deploy(context.Background(), w.dial(t), w.spec(app, port, "v1")); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(w.srv.AppRoot, app, "releases", "*", "compose.yaml"))
	if len(files) != 1 {
		t.Fatalf("compose files: %v", files)
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(fi.ModTime()); age < 0 || age > 10*time.Minute {
		t.Fatalf("compose.yaml mtime %s", fi.ModTime())
	}
}
