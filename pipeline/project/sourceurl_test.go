package project

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourceURL(t *testing.T) {
	origin := func(url string) string { return "[remote \"origin\"]\n\turl = " + url + "\n" }
	tests := []struct {
		name, config, want string
	}{
		{"scp-like ssh", origin("git@github.com:o/r.git"), "https://github.com/o/r"},
		{"scp-like without user or .git", origin("gitlab.example.com:group/sub/r"), "https://gitlab.example.com/group/sub/r"},
		{"ssh url with port", origin("ssh://git@host:2222/o/r.git"), "https://host/o/r"},
		{"https with credentials", origin("https://user:token@host/o/r.git"), "https://host/o/r"},
		{"https with a token only", origin("https://ghp_abc123@github.com/o/r"), "https://github.com/o/r"},
		{"https keeps its port", origin("https://git.example.com:8443/o/r.git/"), "https://git.example.com:8443/o/r"},
		{"plain http stays http", origin("http://gitea.local/o/r.git"), "http://gitea.local/o/r"},
		{"git protocol", origin("git://host.xz/o/r.git"), "https://host.xz/o/r"},
		{"host is lower-cased", origin("git@GitHub.com:o/r.git"), "https://github.com/o/r"},
		{"quoted value and comment", "[remote \"origin\"]\n\turl = \"git@github.com:o/r.git\" ; the fork\n", "https://github.com/o/r"},
		{"old dotted section", "[remote.origin]\nurl = git@github.com:o/r.git\n", "https://github.com/o/r"},
		{"case-insensitive names", "[Remote \"origin\"]\n\tURL = git@github.com:o/r.git\n", "https://github.com/o/r"},
		{"origin wins over others", "[remote \"fork\"]\n\turl = git@github.com:me/r.git\n" + origin("git@github.com:o/r.git"), "https://github.com/o/r"},
		{"the only remote", "[remote \"upstream\"]\n\turl = git@github.com:o/r.git\n", "https://github.com/o/r"},
		{"first url of origin", origin("git@github.com:o/r.git") + "\turl = git@gitlab.com:o/r.git\n", "https://github.com/o/r"},
		{"pushurl is not the url", "[remote \"origin\"]\n\tpushurl = git@push.example:o/r.git\n\turl = git@github.com:o/r.git\n", "https://github.com/o/r"},
		{"url of another section", "[branch \"main\"]\n\turl = git@github.com:o/r.git\n", ""},
		{"two remotes, no origin", "[remote \"a\"]\n\turl = git@a.com:o/r.git\n[remote \"b\"]\n\turl = git@b.com:o/r.git\n", ""},
		{"no remote", "[core]\n\tbare = false\n", ""},
		{"empty", "", ""},
		{"local path", origin("/srv/git/r.git"), ""},
		{"relative path", origin("../r"), ""},
		{"file url", origin("file:///srv/git/r.git"), ""},
		{"windows drive", origin(`C:\repos\r`), ""},
		{"no repository path", origin("https://github.com/"), ""},
		{"garbage", "[remote \"origin\"\nurl = ::::\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SourceURL([]byte(tt.config)); got != tt.want {
				t.Fatalf("SourceURL(%q) = %q, want %q", tt.config, got, tt.want)
			}
		})
	}
}

// A .git/config as git itself writes it, with credentials in the remote.
func TestSourceURLFromRealGitConfig(t *testing.T) {
	dir := t.TempDir()
	for _, argv := range [][]string{
		{"git", "init", "-q", dir},
		{"git", "-C", dir, "remote", "add", "upstream", "git@github.com:up/r.git"},
		{"git", "-C", dir, "remote", "add", "origin", "https://bot:s3cret-token@git.example.com/o/r.git"},
	} {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	config, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	got := SourceURL(config)
	if got != "https://git.example.com/o/r" {
		t.Fatalf("SourceURL = %q, want https://git.example.com/o/r", got)
	}
	if strings.Contains(got, "s3cret") || strings.Contains(got, "bot") {
		t.Fatalf("SourceURL leaks credentials: %q", got)
	}
}
