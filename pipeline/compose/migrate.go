package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// maxMigrateCommand bounds the migration command (with-migration
// --command): it is a command, not a script.
const maxMigrateCommand = 4096

// migrateArgv splits a migration command into words the way a POSIX
// shell would (single and double quotes, backslash escapes), without
// expanding anything: each word reaches compose run as it is, quoted for
// the server's shell.
func migrateArgv(cmd string) ([]string, error) {
	if len(cmd) > maxMigrateCommand {
		return nil, fmt.Errorf("with-migration --command: %d bytes is longer than %d: run a script that is in the image instead", len(cmd), maxMigrateCommand)
	}
	if strings.ContainsFunc(cmd, func(r rune) bool { return r == 0 || r == '\n' || r == '\r' }) {
		return nil, fmt.Errorf("with-migration --command %q: one line, no NUL", cmd)
	}
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(cmd[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("with-migration --command %q: unclosed single quote", cmd)
			}
			cur.WriteString(cmd[i+1 : i+1+j])
			i, inWord = i+1+j, true
		case c == '"':
			i++
			for ; i < len(cmd) && cmd[i] != '"'; i++ {
				if cmd[i] == '\\' && i+1 < len(cmd) && strings.IndexByte("\"\\$`", cmd[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(cmd[i])
			}
			if i >= len(cmd) {
				return nil, fmt.Errorf("with-migration --command %q: unclosed double quote", cmd)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(cmd) {
				return nil, fmt.Errorf("with-migration --command %q: ends with a backslash", cmd)
			}
			i++
			cur.WriteByte(cmd[i])
			inWord = true
		case unicode.IsSpace(rune(c)):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("with-migration --command %q: no command", cmd)
	}
	return words, nil
}

// migrationTail is how many lines of a failed migration's output its
// error shows.
const migrationTail = 30

// MigrationError is a migration that failed or did not finish: the
// deploy stopped before the release started or took traffic.
type MigrationError struct {
	Command  string
	ExitCode int    // -1: it did not finish (see Err)
	Output   string // its last lines (stdout and stderr)
	Err      error  // an *sshconn.ExitError or *sshconn.DeadlineError, or the connection's
}

func (e *MigrationError) Error() string {
	what := fmt.Sprintf("migration %q failed with exit code %d", e.Command, e.ExitCode)
	if e.ExitCode < 0 {
		what = fmt.Sprintf("migration %q did not finish: %v", e.Command, e.Err)
		if errors.As(e.Err, new(*sshconn.DeadlineError)) {
			what += "; a longer migration needs a longer with-migration --timeout"
		}
	}
	out := strings.TrimRight(e.Output, "\n")
	if out == "" {
		out = "(no output)"
	}
	return fmt.Sprintf("%s\nlast %d lines of its output:\n%s", what, migrationTail, out)
}

func (e *MigrationError) Unwrap() error { return e.Err }

// migrate runs the deploy's migration, if it has one, for rec: once, in a
// one-off container of rec's service (compose run, through compose, the
// strategy's invocation for rec's directory and project), so it has the
// new image, the new .env and the app's network. Every strategy calls it
// after stage and before anything of rec starts, so traffic never reaches
// a release whose migration has not run. The run is recorded in rec.
func migrate(ctx context.Context, d *deployment, rec *host.Record, compose func(args string) string) error {
	if d.spec.Migrate == "" {
		return nil
	}
	argv, err := migrateArgv(d.spec.Migrate)
	if err != nil {
		return err
	}
	a := d.a
	name := "goship-migrate-" + rec.App + "-" + rec.Name
	words := make([]string, len(argv))
	for i, w := range argv {
		words[i] = host.Q(w)
	}
	script := compose(fmt.Sprintf("run --rm -T --name %s %s %s", host.Q(name), host.Q(a.Service()), strings.Join(words, " "))) + " 2>&1"
	start := time.Now()
	out, err := a.RunDeadline(ctx, "migration of "+rec.Name, d.spec.Timeouts.Migrate, script, nil)
	m := &host.Migration{Command: d.spec.Migrate, At: start.UTC(), Took: time.Since(start).Round(time.Millisecond)}
	rec.Migration = m
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		_ = a.SaveRecord(rctx, *rec)
		return nil
	}
	// compose run --rm removes the container when it ends by itself; one
	// ended at its deadline (or cut off) may be left running.
	_, _ = a.RunDeadline(rctx, "remove "+name, time.Minute, "docker rm -f "+host.Q(name)+" >/dev/null 2>&1; true", nil)
	merr := &MigrationError{Command: d.spec.Migrate, ExitCode: -1, Output: lastLines(out, migrationTail), Err: err}
	var exit *sshconn.ExitError
	if errors.As(err, &exit) {
		merr.ExitCode = exit.Status
	}
	m.ExitCode = merr.ExitCode
	if merr.ExitCode < 0 {
		m.Error = err.Error()
	}
	_ = a.SaveRecord(rctx, *rec)
	return merr
}

// migrationFailed ends a deploy whose migration failed: nothing of rec
// started and no traffic moved, so the previous release serves as it did
// (Unchanged). cleanup removes what compose run may have created (a
// network).
func migrationFailed(ctx context.Context, d *deployment, rec host.Record, err error, log journal, cleanup func(context.Context)) (*Result, error) {
	rctx := context.WithoutCancel(ctx)
	if cleanup != nil {
		cleanup(rctx)
	}
	rec.Outcome, rec.Error = outcome.ReleaseFailed, firstLine(err.Error())
	_ = d.a.SaveRecord(rctx, rec)
	done := "nothing was started or switched"
	if d.prev.Name != "" {
		done += "; " + d.prev.Name + " kept serving"
	}
	if rec.Migration != nil && rec.Migration.ExitCode != 0 {
		done += " (a migration that failed part-way may have changed the schema: check it before deploying again)"
	}
	log.end(outcome.Unchanged, fmt.Errorf("%s: %s", firstLine(err.Error()), done))
	res := unchanged()
	res.Release, res.Image, res.Previous = rec.Name, rec.Image, d.prev.Name
	return res, fmt.Errorf("deploy of %s stopped before it took traffic: %w\n%s", rec.Name, err, done)
}

// schemaNotBack says that older, brought back in place of a release
// whose migration ran (rec), runs against the migrated schema: goship
// does not undo migrations. Empty when rec ran none.
func schemaNotBack(rec host.Record, older string) string {
	if rec.Migration == nil || older == "" {
		return ""
	}
	return fmt.Sprintf("THE DATABASE SCHEMA DID NOT GO BACK: %s ran the migration %q at %s, and %s now runs against the migrated schema",
		rec.Name, rec.Migration.Command, rec.Migration.At.Format(time.RFC3339), older)
}

// newestMigrationAfter is the newest release after target (recs newest
// first) whose migration ran to its end. (One that failed stopped its
// deploy, whose error said the schema may have changed.)
func newestMigrationAfter(recs []host.Record, target string) (host.Record, bool) {
	for _, r := range recs {
		if r.Name > target && r.Migration.OK() {
			return r, true
		}
	}
	return host.Record{}, false
}

// lastLines is the last n lines of s, at most 8 KiB.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := strings.Join(lines, "\n")
	if len(out) > 8<<10 {
		out = "…" + out[len(out)-8<<10:]
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
