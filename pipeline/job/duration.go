package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Duration is a setting such as 30s or 2m: Dagger has no duration type,
// so every duration flag arrives as text and is parsed here, once, with
// one rule.
type Duration time.Duration

// ParseDuration parses the value of flag, e.g. --health-timeout: a Go
// duration, not negative. Empty is zero: not given, the owner's default
// applies.
func ParseDuration(flag, value string) (Duration, error) {
	if value == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--%s %q: want a duration such as 30s or 2m", flag, value)
	}
	return Duration(d), nil
}

// Std is d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as text ("1m30s"), which people can read in a job.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads the text form.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
