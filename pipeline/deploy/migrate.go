package deploy

import (
	"fmt"
	"strings"
	"unicode"
)

// maxMigrateCommand bounds --migrate: it is a command, not a script.
const maxMigrateCommand = 4096

// migrateArgv splits a migration command into words the way a POSIX
// shell would (single and double quotes, backslash escapes), without
// expanding anything: each word reaches compose run as it is, quoted for
// the server's shell.
func migrateArgv(cmd string) ([]string, error) {
	if len(cmd) > maxMigrateCommand {
		return nil, fmt.Errorf("--migrate: %d bytes is longer than %d: run a script that is in the image instead", len(cmd), maxMigrateCommand)
	}
	if strings.ContainsFunc(cmd, func(r rune) bool { return r == 0 || r == '\n' || r == '\r' }) {
		return nil, fmt.Errorf("--migrate %q: one line, no NUL", cmd)
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
				return nil, fmt.Errorf("--migrate %q: unclosed single quote", cmd)
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
				return nil, fmt.Errorf("--migrate %q: unclosed double quote", cmd)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(cmd) {
				return nil, fmt.Errorf("--migrate %q: ends with a backslash", cmd)
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
		return nil, fmt.Errorf("--migrate %q: no command", cmd)
	}
	return words, nil
}
