package project

import (
	"bufio"
	"bytes"
	"net/url"
	"strings"
)

// SourceURL is the web URL of the repository a .git/config points at, for
// the image's org.opencontainers.image.source label: the URL of remote
// "origin", else of the only remote. SSH forms become https
// (git@github.com:o/r.git -> https://github.com/o/r); credentials, ports of
// SSH remotes, and the .git suffix are dropped. It is "" when there is no
// such remote or its URL is a local path or cannot be read.
func SourceURL(gitConfig []byte) string {
	remotes := remoteURLs(gitConfig)
	raw, ok := remotes["origin"]
	if !ok && len(remotes) == 1 {
		for _, u := range remotes {
			raw = u
		}
	}
	return webURL(raw)
}

// remoteURLs reads the first url of each [remote "name"] section. It
// knows as much of git-config syntax as remotes use: comments, quoted
// values, case-insensitive section and key names.
func remoteURLs(config []byte) map[string]string {
	urls := map[string]string{}
	remote, inRemote := "", false
	sc := bufio.NewScanner(bytes.NewReader(config))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			remote, inRemote = remoteSection(line)
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !inRemote || !ok || !strings.EqualFold(strings.TrimSpace(key), "url") {
			continue
		}
		if _, seen := urls[remote]; !seen {
			urls[remote] = configValue(value)
		}
	}
	return urls
}

// remoteSection parses a section header: [remote "origin"], or the old
// [remote.origin].
func remoteSection(line string) (name string, ok bool) {
	header, _, closed := strings.Cut(line[1:], "]")
	if !closed {
		return "", false
	}
	section, sub, quoted := strings.Cut(strings.TrimSpace(header), " ")
	if quoted {
		sub = strings.TrimSpace(sub)
		if len(sub) < 2 || sub[0] != '"' || sub[len(sub)-1] != '"' {
			return "", false
		}
		return strings.ReplaceAll(sub[1:len(sub)-1], `\"`, `"`), strings.EqualFold(section, "remote")
	}
	section, sub, dotted := strings.Cut(section, ".")
	return strings.ToLower(sub), dotted && strings.EqualFold(section, "remote")
}

// configValue unquotes a value and drops a trailing comment.
func configValue(v string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case !quoted && (c == '#' || c == ';'):
			return strings.TrimSpace(b.String())
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// webURL maps a remote URL to the https page of the repository.
func webURL(raw string) string {
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		// scp-like syntax, [user@]host:path; a colon after a slash (or
		// none) makes it a local path.
		hostPart, p, ok := strings.Cut(raw, ":")
		if !ok || strings.Contains(hostPart, "/") || len(hostPart) == 1 { // C:\repo is a drive
			return ""
		}
		raw = "ssh://" + hostPart + "/" + strings.TrimPrefix(p, "/")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Host
	switch u.Scheme {
	case "https", "http":
		// the web server may well listen on that port
	case "ssh", "git", "git+ssh", "ssh+git":
		host = u.Hostname() // an SSH or git port is not the web's
	default:
		return ""
	}
	p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	if strings.Trim(p, "/") == "" {
		return ""
	}
	scheme := "https"
	if u.Scheme == "http" {
		scheme = "http"
	}
	web := url.URL{Scheme: scheme, Host: strings.ToLower(host), Path: p}
	return web.String()
}
