package ci

import (
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
