package scan

import (
	"encoding/json"
	"fmt"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
)

// SBOMSuffix names the file of a binary's SBOM beside where the binary
// would be: Trivy reads files ending in .cdx.json as CycloneDX documents.
const SBOMSuffix = ".cdx.json"

// GoBinarySBOM is a CycloneDX document with what Trivy's Go binary
// analyzer reads from a binary with build info info at path (relative to
// the scanned root, e.g. "usr/local/bin/app"): the standard library at the
// Go version, every dependency (replacements applied) and the main module.
// Trivy scans it as it scans the binary: the same packages with the same
// type, so the same vulnerabilities.
//
// Why: the binary changes with every source edit, its module list rarely
// does. A scan of this document, placed where the binary was, is cached
// for as long as the dependencies and the Go version stay the same.
// Nothing else of the build info goes in, and the document has no
// timestamp or random serial number.
func GoBinarySBOM(info *debug.BuildInfo, path string) ([]byte, error) {
	if info == nil || info.Main.Path == "" {
		return nil, fmt.Errorf("sbom: %s has no main module in its build info", path)
	}
	for _, s := range info.Settings {
		// go build -trimpath (goship's) leaves -ldflags out of the build
		// info. With it in, Trivy reads a stamped version from it, which
		// this document does not reproduce: scan such a binary itself.
		if s.Key == "-ldflags" {
			return nil, fmt.Errorf("sbom: %s was built without -trimpath; its -ldflags are in its build info", path)
		}
	}
	pkgs := []goPackage{{name: "stdlib", version: stdlibVersion(info.GoVersion)}}
	for _, dep := range info.Deps {
		if dep.Path == "" { // old toolchains listed the main module here
			continue
		}
		mod := dep
		if dep.Replace != nil {
			mod = dep.Replace
		}
		pkgs = append(pkgs, goPackage{name: mod.Path, version: develAsEmpty(mod.Version)})
	}
	main := goPackage{name: info.Main.Path, version: develAsEmpty(info.Main.Version)}

	app := "goship:" + path
	doc := cdxDocument{
		BOMFormat:   "CycloneDX",
		SpecVersion: "1.6",
		Version:     1,
		Metadata: cdxMetadata{Component: cdxComponent{
			BOMRef: "goship:root", Type: "application", Name: path,
			Properties: []cdxProperty{{"aquasecurity:trivy:SchemaVersion", "2"}},
		}},
		Components: []cdxComponent{{
			BOMRef: app, Type: "application", Name: path,
			Properties: []cdxProperty{{"aquasecurity:trivy:Class", "lang-pkgs"}, {"aquasecurity:trivy:Type", "gobinary"}},
		}},
	}
	var deps []string
	for _, p := range pkgs {
		doc.Components = append(doc.Components, p.component())
		deps = append(deps, p.purl())
	}
	slices.Sort(deps)
	doc.Components = append(doc.Components, main.component())
	doc.Dependencies = []cdxDependency{
		{Ref: "goship:root", DependsOn: []string{app}},
		{Ref: app, DependsOn: []string{main.purl()}},
		{Ref: main.purl(), DependsOn: deps},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// goPackage is a module as Trivy names it: an empty version when the
// build info says (devel).
type goPackage struct{ name, version string }

func (p goPackage) purl() string {
	purl := "pkg:golang/" + p.name
	if p.version != "" {
		purl += "@" + url.PathEscape(p.version)
	}
	return purl
}

func (p goPackage) component() cdxComponent {
	id := p.name
	if p.version != "" {
		id += "@" + p.version
	}
	return cdxComponent{
		BOMRef: p.purl(), Type: "library", Name: p.name, Version: p.version, PURL: p.purl(),
		Properties: []cdxProperty{{"aquasecurity:trivy:PkgID", id}, {"aquasecurity:trivy:PkgType", "gobinary"}},
	}
}

// stdlibVersion is "go1.26.1 X:boringcrypto" as v1.26.1.
func stdlibVersion(goVersion string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(goVersion, "go"), " ")
	return "v" + v
}

func develAsEmpty(version string) string {
	if version == "(devel)" {
		return ""
	}
	return version
}

type cdxDocument struct {
	BOMFormat    string          `json:"bomFormat"`
	SpecVersion  string          `json:"specVersion"`
	Version      int             `json:"version"`
	Metadata     cdxMetadata     `json:"metadata"`
	Components   []cdxComponent  `json:"components"`
	Dependencies []cdxDependency `json:"dependencies"`
}

type cdxMetadata struct {
	Component cdxComponent `json:"component"`
}

type cdxComponent struct {
	BOMRef     string        `json:"bom-ref"`
	Type       string        `json:"type"`
	Name       string        `json:"name"`
	Version    string        `json:"version,omitempty"`
	PURL       string        `json:"purl,omitempty"`
	Properties []cdxProperty `json:"properties,omitempty"`
}

type cdxProperty struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type cdxDependency struct {
	Ref       string   `json:"ref"`
	DependsOn []string `json:"dependsOn"`
}
