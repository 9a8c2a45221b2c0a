package ci

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Flags records how goship's constructor was called, in the user's own
// form (--go-image=…), keeping only the arguments that were given: what a
// reproduce command must repeat, and nothing more. Each method also
// returns the setting's value, its default when it was not given, so a
// constructor names each setting, and its default, once.
type Flags struct {
	args []string
}

// String records value when given (not empty); it returns value, or def.
func (f *Flags) String(name, value, def string) string {
	if value == "" {
		return def
	}
	f.args = append(f.args, "--"+name+"="+value)
	return value
}

// Strings records a list when given (Dagger's CLI takes it
// comma-separated); it returns value, or def.
func (f *Flags) Strings(name string, value, def []string) []string {
	if len(value) == 0 {
		return def
	}
	f.args = append(f.args, "--"+name+"="+strings.Join(value, ","))
	return value
}

// Proxy records a GOPROXY-style list of URLs when given, with any
// password in them masked (a reproduce command is printed in logs and job
// summaries); it returns value as given.
func (f *Flags) Proxy(name, value string) string {
	if value == "" {
		return ""
	}
	f.args = append(f.args, "--"+name+"="+maskPasswords(value))
	return value
}

// maskPasswords masks the password of every URL in a list separated by
// ',' or '|' (GOPROXY's separators), keeping everything else.
func maskPasswords(list string) string {
	var b strings.Builder
	start := 0
	for i := 0; i <= len(list); i++ {
		if i < len(list) && list[i] != ',' && list[i] != '|' {
			continue
		}
		item := list[start:i]
		if u, err := url.Parse(item); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
				item = u.String()
			}
		}
		b.WriteString(item)
		if i < len(list) {
			b.WriteByte(list[i])
		}
		start = i + 1
	}
	return b.String()
}

// Bool records a boolean that was set.
func (f *Flags) Bool(name string, value bool) bool {
	if value {
		f.args = append(f.args, "--"+name+"="+strconv.FormatBool(value))
	}
	return value
}

// Int records an integer when given (not 0); it returns value, or def.
func (f *Flags) Int(name string, value, def int) int {
	if value == 0 {
		return def
	}
	f.args = append(f.args, "--"+name+"="+strconv.Itoa(value))
	return value
}

// File records a file argument. The module cannot know the path it came
// from, so the flag names a placeholder the user fills in.
func File[T comparable](f *Flags, name string, file T) T {
	var none T
	if file != none {
		f.args = append(f.args, "--"+name+"=<path of the file you passed>")
	}
	return file
}

// Args are the recorded flags, in the order they were recorded.
func (f *Flags) Args() []string { return slices.Clone(f.args) }
