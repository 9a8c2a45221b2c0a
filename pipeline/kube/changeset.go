package kube

import (
	"fmt"
	"strings"
)

// Action is what a deploy did to one object, as in Flux's change set.
type Action string

// The actions.
const (
	ActionCreated    Action = "created"
	ActionConfigured Action = "configured"
	ActionUnchanged  Action = "unchanged"
	ActionDeleted    Action = "deleted" // pruned: the release dropped it
	ActionScaled     Action = "scaled"  // a blue-green color scaled up or down
	ActionSwitched   Action = "switched"
)

// Change is one object's entry of a ChangeSet.
type Change struct {
	Kind, Name string
	Action     Action
}

func (c Change) String() string { return fmt.Sprintf("%s/%s %s", c.Kind, c.Name, c.Action) }

// ChangeSet is what a run did, object by object, in order.
type ChangeSet []Change

// Writes counts the entries that changed the cluster.
func (cs ChangeSet) Writes() int {
	n := 0
	for _, c := range cs {
		if c.Action != ActionUnchanged {
			n++
		}
	}
	return n
}

func (cs ChangeSet) String() string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}
