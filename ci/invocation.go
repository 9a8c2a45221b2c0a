package ci

import (
	"slices"
	"strconv"
	"strings"
)

// Flags records how goship's constructor was called, in the user's own
// form (--go-image=…), keeping only the arguments that differ from their
// defaults: what a reproduce command must repeat, and nothing more.
type Flags struct {
	args []string
}

// String records a string argument.
func (f *Flags) String(name, value, def string) {
	if value != def {
		f.args = append(f.args, "--"+name+"="+value)
	}
}

// Strings records a list argument (Dagger's CLI takes it comma-separated).
func (f *Flags) Strings(name string, value, def []string) {
	if !slices.Equal(value, def) {
		f.args = append(f.args, "--"+name+"="+strings.Join(value, ","))
	}
}

// Bool records a boolean argument.
func (f *Flags) Bool(name string, value, def bool) {
	if value != def {
		f.args = append(f.args, "--"+name+"="+strconv.FormatBool(value))
	}
}

// Int records an integer argument.
func (f *Flags) Int(name string, value, def int) {
	if value != def {
		f.args = append(f.args, "--"+name+"="+strconv.Itoa(value))
	}
}

// File records a file argument. The module cannot know the path it came
// from, so the flag names a placeholder the user fills in.
func (f *Flags) File(name string, given bool) {
	if given {
		f.args = append(f.args, "--"+name+"=<path of the file you passed>")
	}
}

// Args are the recorded flags, in the order they were recorded.
func (f *Flags) Args() []string { return slices.Clone(f.args) }
