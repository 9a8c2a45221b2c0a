package ops

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
)

// exec runs in a new container of the serving release: it sees the
// release's .env and the app's network, returns output and exit code,
// ends at its deadline, leaves nothing behind, and deploys.log says who
// ran what.
func TestExecRunsAOneOffContainerOfTheRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	h := w.newHost(t, "opsx")
	spec := h.spec("v1")
	spec.Env = []byte("GREETING=hello from .env\n")
	r1 := h.deploy(t, spec)
	serving := h.servingID(t, h.app)
	targets := []Target{h.target()}
	ctx := context.Background()
	run := func(cmd string, timeout time.Duration) (*ExecResult, error) {
		res, err := Exec(ctx, targets, ExecSpec{Cmd: cmd, Timeout: timeout, Who: "alice@ops"})
		if err == nil && len(res) != 1 {
			t.Fatalf("exec %q: %d results", cmd, len(res))
		}
		if err != nil {
			return nil, err
		}
		return res[0], nil
	}

	res, err := run("env GREETING", 0)
	if err != nil {
		t.Fatalf("exec env GREETING: %v", err)
	}
	if res.Output != "hello from .env\n" || res.Release != r1.Release {
		t.Errorf("exec env GREETING: output %q in release %s, want the .env's value in %s", res.Output, res.Release, r1.Release)
	}
	// On the app's compose network, the service answers by its name.
	if res, err := run("get http://app:8080/version", 0); err != nil || strings.TrimSpace(res.Output) != "v1" {
		t.Errorf("exec get http://app:8080/version: %v %+v", err, res)
	}

	_, err = run("exit 3", 0)
	var ee *ExecError
	if !errors.As(err, &ee) || ee.Code != 3 || ee.TimedOut || ee.Host != h.target().Host() || !strings.Contains(ee.Output, "exiting with 3") {
		t.Fatalf("exec exit 3: %v (%+v)", err, ee)
	}
	if msg := err.Error(); !strings.Contains(msg, h.target().Host()) || !strings.Contains(msg, "code 3") {
		t.Errorf("the error does not name the host and the code: %s", msg)
	}

	start := time.Now()
	_, err = run("sleep 1m", 2*time.Second)
	if !errors.As(err, &ee) || !ee.TimedOut {
		t.Fatalf("exec sleep 1m with a 2s timeout: %v", err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("a 2s exec deadline took %s to end", took)
	}

	// Nothing left behind; the serving container untouched.
	if left := w.docker.Run(t, nil, "ps", "-aq", "--filter", "label=dev.goship.app="+h.app, "--filter", "label=dev.goship.exec"); left != "" {
		t.Errorf("exec left containers behind: %s", left)
	}
	if now := h.servingID(t, h.app); now != serving {
		t.Errorf("the serving container changed: %s, was %s", now, serving)
	}
	if state := w.docker.Run(t, nil, "inspect", "--format", "{{.State.Status}} {{.RestartCount}}", serving); state != "running 0" {
		t.Errorf("the serving container is %s", state)
	}

	// deploys.log: who ran what, and how it ended.
	data, err := os.ReadFile(h.dir() + "/deploys.log")
	if err != nil {
		t.Fatal(err)
	}
	var execs []host.LogEntry
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e host.LogEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("deploys.log line %q: %v", line, err)
		}
		if e.Event == "exec" {
			execs = append(execs, e)
		}
	}
	type row struct {
		cmd     []string
		outcome string
		err     string
	}
	want := []row{
		{[]string{"env", "GREETING"}, "started", ""}, {[]string{"env", "GREETING"}, "succeeded", ""},
		{[]string{"get", "http://app:8080/version"}, "started", ""}, {[]string{"get", "http://app:8080/version"}, "succeeded", ""},
		{[]string{"exit", "3"}, "started", ""}, {[]string{"exit", "3"}, "failed", "exit code 3"},
		{[]string{"sleep", "1m"}, "started", ""}, {[]string{"sleep", "1m"}, "failed", "stopped at its 2s deadline"},
	}
	var got []row
	for _, e := range execs {
		o := string(e.Outcome)
		if e.Started {
			o = "started"
		}
		got = append(got, row{e.Command, o, e.Error})
		if e.Who != "alice@ops" || e.Release != r1.Release || e.Image != spec.Image {
			t.Errorf("deploys.log exec entry: who %q release %s image %s", e.Who, e.Release, e.Image)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deploys.log exec entries:\n%+v\nwant\n%+v", got, want)
	}
}
