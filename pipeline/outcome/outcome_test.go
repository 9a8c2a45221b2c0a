package outcome

import "testing"

func TestWorst(t *testing.T) {
	cases := []struct{ a, b, want Outcome }{
		{Succeeded, Succeeded, Succeeded},
		{Succeeded, Unchanged, Unchanged},
		{RolledBack, Unchanged, RolledBack},
		{Failed, RolledBack, Failed},
		{Succeeded, "", Failed}, // an unset outcome is never taken for success
	}
	for _, c := range cases {
		if got := Worst(c.a, c.b); got != c.want {
			t.Errorf("Worst(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestServing(t *testing.T) {
	for o, want := range map[Outcome]bool{Succeeded: true, Unchanged: true, RolledBack: true, Failed: false, "": false} {
		if got := o.Serving(); got != want {
			t.Errorf("%q.Serving() = %v, want %v", o, got, want)
		}
	}
}
