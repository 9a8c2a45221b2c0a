package runner

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/registry"
)

// env is what every verb of one job shares: the run, how registries are
// reached, the webhooks, and where progress goes.
type env struct {
	run    job.Run
	trust  registry.Trust
	notify []notify.Target
	log    io.Writer
}

// newEnv reads the job's shared settings and checks them: a bad webhook
// URL or CA fails the job before anything is touched.
func newEnv(j job.Job, log io.Writer) (*env, error) {
	e := &env{run: j.Run, log: log, trust: registry.Trust{PlainHTTP: j.Trust.PlainHTTP}}
	if e.log == nil {
		e.log = io.Discard
	}
	if j.Trust.CA != "" {
		ca, err := os.ReadFile(j.Trust.CA)
		if err != nil {
			return nil, fmt.Errorf("reading --registry-ca: %w", err)
		}
		e.trust.CAPEM = ca
	}
	if err := e.trust.Validate(); err != nil {
		return nil, err
	}
	var urls []string
	for _, f := range j.Notify {
		u, err := secretText(f)
		if err != nil {
			return nil, fmt.Errorf("reading --notify: %w", err)
		}
		urls = append(urls, u)
	}
	var err error
	if e.notify, err = notify.ParseTargets(urls); err != nil {
		return nil, err
	}
	return e, nil
}

// logf writes one progress line.
func (e *env) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(e.log, format+"\n", args...) // progress only: a lost line fails nothing
}

// secretText reads a secret file without the trailing newline that
// file:// and cmd:// secrets keep; "" for no file.
func secretText(path string) (string, error) {
	b, err := secretBytes(path)
	return strings.TrimRight(string(b), "\r\n"), err
}

// secretBytes reads a secret file as it is; nil for no file. Errors
// name the path, never the content.
func secretBytes(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	return os.ReadFile(path)
}

// credentials reads registry credentials; the zero value for none.
func credentials(c *job.Credentials) (registry.Credentials, error) {
	if c == nil {
		return registry.Credentials{}, nil
	}
	pw, err := secretText(c.Password)
	if err != nil {
		return registry.Credentials{}, fmt.Errorf("reading the registry password: %w", err)
	}
	if (c.Username == "") != (pw == "") {
		return registry.Credentials{}, fmt.Errorf("a registry username and password go together: give both for a private registry, neither for a public one")
	}
	return registry.Credentials{Username: c.Username, Password: pw}, nil
}

// registryOptions are the options of a registry call with creds.
func (e *env) registryOptions(creds registry.Credentials) []registry.Option {
	opts := []registry.Option{registry.WithTrust(e.trust)}
	if creds.Username != "" {
		opts = append(opts, registry.WithCredentials(creds))
	}
	return opts
}
