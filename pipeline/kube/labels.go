package kube

import (
	"regexp"
	"strings"
)

// Labels and annotations goship puts on what it applies and records.
const (
	labelApp       = "goship.dev/app"
	labelPart      = "goship.dev/part" // release, env, pull
	labelOutcome   = "goship.dev/outcome"
	labelName      = "app.kubernetes.io/name"
	labelVersion   = "app.kubernetes.io/version"
	labelManagedBy = "app.kubernetes.io/managed-by"
	annoRelease    = "goship.dev/release"
	annoVersion    = "goship.dev/version"
	annoCommit     = "goship.dev/commit"
	annoWho        = "goship.dev/who"
	annoRevision   = "deployment.kubernetes.io/revision"
	fieldManager   = "goship"
)

var nonLabelChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// labelValue makes s a valid label value (63 chars, alphanumeric at both
// ends); the raw value goes into an annotation beside it.
func labelValue(s string) string {
	s = nonLabelChars.ReplaceAllString(s, "_")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "_.-")
}

var nonNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// nameSuffix makes s usable inside an object name: lower case letters,
// digits and dashes, at most 20 characters.
func nameSuffix(s string) string {
	s = nonNameChars.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 20 {
		s = s[:20]
	}
	return strings.Trim(s, "-")
}
