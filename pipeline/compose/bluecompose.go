package compose

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// colorVar names the color a blue-green release runs as. The release's
// compose.yaml takes it from the environment, so one release directory
// can run as either color (a rollback may need the other one).
const colorVar = "GOSHIP_COLOR"

// proxyNetwork is the compose name of the proxy's network in app files.
const proxyNetwork = "goship_proxy"

// aliasPrefix is the start of an app's name on the proxy network; the
// color follows.
func aliasPrefix(app string) string { return "goship-" + app + "-" }

// upstream is the address the proxy dials for app in color.
func upstream(app, color string, port int) string {
	return fmt.Sprintf("%s%s:%d", aliasPrefix(app), color, port)
}

// BlueGreenCompose renders a blue-green release's compose.yaml: like
// Compose, but the service publishes no port; it joins the proxy's
// network under the name goship-<app>-<color> instead.
func BlueGreenCompose(s Spec, image string, withEnv bool) ([]byte, error) {
	base, err := Compose(s, image, withEnv)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("compose file: %w", err)
	}
	top := doc.Content[0]
	svc := mapValue(mapValue(top, "services"), s.Service)
	deleteKey(svc, "ports")
	alias := aliasPrefix(s.App) + "${" + colorVar + ":?run this release with goship: it sets " + colorVar + "}"
	edge := &yaml.Node{Kind: yaml.MappingNode}
	setKey(edge, "aliases", &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{str(alias)}})
	nets := mapValue(svc, "networks")
	switch {
	case nets == nil:
		// A service without networks is on the project's default network;
		// keep it there so it still reaches its sidecars.
		nets = &yaml.Node{Kind: yaml.MappingNode}
		setKey(nets, "default", &yaml.Node{Kind: yaml.MappingNode})
		setKey(svc, "networks", nets)
	case nets.Kind == yaml.SequenceNode:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for _, n := range nets.Content {
			setKey(m, n.Value, &yaml.Node{Kind: yaml.MappingNode})
		}
		*nets = *m
	}
	setKey(nets, proxyNetwork, edge)
	topNets := mapValue(top, "networks")
	if topNets == nil {
		topNets = &yaml.Node{Kind: yaml.MappingNode}
		setKey(top, "networks", topNets)
	}
	ext := &yaml.Node{Kind: yaml.MappingNode}
	setKey(ext, "external", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	setKey(ext, "name", str(s.Proxy.Name))
	setKey(topNets, proxyNetwork, ext)
	return encodeCompose(&doc)
}

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

// setKey sets key in mapping m, replacing an existing value.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, str(key), v)
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
