package host

import (
	"encoding/json"
	"testing"
)

func TestLoadedImage(t *testing.T) {
	tests := []struct{ out, want string }{
		{"Loaded image: goship.local/hello:v2\n", "goship.local/hello:v2"},
		{"Loaded image ID: sha256:abc123\n", "sha256:abc123"},
	}
	for _, tt := range tests {
		if got, err := loadedImage(tt.out); err != nil || got != tt.want {
			t.Errorf("loadedImage(%q) = %q, %v", tt.out, got, err)
		}
	}
	if _, err := loadedImage("open /dev/stdin: no data\n"); err == nil {
		t.Error("no image accepted")
	}
}

// The fields a Record does not have (a strategy's, written at the top
// level before strategies owned their part) become its StrategyState; a
// record with a StrategyState keeps it as it is.
func TestRecordFoldsUnknownFieldsIntoTheStrategyState(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"old form", `{"name":"r1","strategy":"blue-green","color":"blue","proxy":{"port":80}}`, `{"color":"blue","proxy":{"port":80}}`},
		{"new form", `{"name":"r1","strategy":"blue-green","strategy_state":{"color":"green"},"stray":1}`, `{"color":"green"}`},
		{"nothing of a strategy", `{"name":"r1","outcome":"healthy","migration":{"command":"up"}}`, ``},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			if err := json.Unmarshal([]byte(tt.in), &r); err != nil {
				t.Fatal(err)
			}
			if string(r.StrategyState) != tt.want || r.Name != "r1" {
				t.Fatalf("StrategyState = %s (name %q), want %s", r.StrategyState, r.Name, tt.want)
			}
		})
	}
}
