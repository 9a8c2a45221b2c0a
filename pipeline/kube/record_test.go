package kube

import (
	"testing"
	"time"
)

// Two deploys in the same second (a retry right after a refusal) get two
// names, in order, in the same format.
func TestFreeReleaseNameTakesTheNextFreeSecond(t *testing.T) {
	at := time.Date(2026, 12, 6, 18, 27, 15, 0, time.UTC)
	if got := freeReleaseName(at, "v2", nil); got != "20261206182715-v2" {
		t.Fatalf("no releases: %q", got)
	}
	taken := []Release{{Name: "20261206182715-v2"}, {Name: "20261206182716-v2"}, {Name: "20261206182717-v1"}}
	got := freeReleaseName(at, "v2", taken)
	if got != "20261206182717-v2" {
		t.Fatalf("taken %v: %q, want 20261206182717-v2", taken, got)
	}
	if got <= taken[1].Name {
		t.Fatalf("%q does not sort after the releases it follows", got)
	}
}
