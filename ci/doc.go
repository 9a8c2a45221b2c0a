// Package ci is goship's CI-facing side: the run context read from GitHub
// Actions (or given locally), test and lint results turned into JUnit XML,
// job summaries and ::error annotations, and the exact command that
// reproduces a CI run on a laptop.
package ci
