package kube

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// parseDotEnv reads a .env file: KEY=VALUE lines, blank lines and #
// comments, an optional "export " prefix, and values optionally wrapped in
// one pair of single or double quotes (taken literally). Errors name the
// line, never its value: values are secrets.
func parseDotEnv(data []byte) (map[string]string, error) {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, fmt.Errorf(".env line %d: want KEY=VALUE", n)
		}
		if errs := validation.IsEnvVarName(key); len(errs) > 0 {
			return nil, fmt.Errorf(".env line %d: key %q: %s", n, key, strings.Join(errs, "; "))
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		env[key] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading .env: %w", err)
	}
	return env, nil
}
