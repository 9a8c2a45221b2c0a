package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const twoContexts = `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: ca
  cluster: {server: "https://127.0.0.1:1"}
- name: noserver
  cluster: {insecure-skip-tls-verify: true}
contexts:
- name: a
  context: {cluster: ca, user: u, namespace: team}
- name: b
  context: {cluster: noserver, user: u}
- name: c
  context: {cluster: missing, user: u}
- name: d
  context: {cluster: ca, user: nobody}
users:
- name: u
  user: {token: t0ken}
`

func TestLoadKubeconfigErrors(t *testing.T) {
	cases := []struct{ name, config, context, want string }{
		{"empty", "", "", "kubeconfig is empty"},
		{"not yaml", "{{{", "", "parsing kubeconfig"},
		{"unknown context", twoContexts, "prod", `no context "prod": pass one of: a, b, c, d`},
		{"no server", twoContexts, "b", `cluster "noserver" (context "b") has no server`},
		{"missing cluster", twoContexts, "c", `names cluster "missing"`},
		{"missing user", twoContexts, "d", `names user "nobody"`},
		{"no current context", strings.Replace(twoContexts, "current-context: a", "", 1), "", "no current-context"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadKubeconfig([]byte(c.config), c.context)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "t0ken") {
				t.Fatalf("error shows the token: %v", err)
			}
		})
	}
	if _, err := loadKubeconfig([]byte(twoContexts), ""); err != nil {
		t.Fatalf("valid kubeconfig: %v", err)
	}
}

// TestConnectUnreachable: a server that does not answer fails Connect,
// within its bound, naming the server.
func TestConnectUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Connect(context.Background(), []byte(twoContexts), "", "")
	if err == nil || !strings.Contains(err.Error(), "https://127.0.0.1:1") || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("err %v, want the server named as not answering", err)
	}
	if took := time.Since(start); took > connectTimeout+5*time.Second {
		t.Fatalf("Connect took %s", took)
	}
}

// TestExecPluginKubeconfig: a user with an exec credential plugin (ACK's
// ack-ram-tool, kubelogin) is refused before any connection, typed, with
// the way out; the server is never asked (it does not exist).
func TestExecPluginKubeconfig(t *testing.T) {
	cfg := `apiVersion: v1
kind: Config
current-context: ack
clusters:
- name: ack
  cluster: {server: "https://192.0.2.1:6443"}
contexts:
- name: ack
  context: {cluster: ack, user: ram}
users:
- name: ram
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ack-ram-tool
      args: [credential-plugin, get-kubeconfig, --cluster-id, c123]
`
	start := time.Now()
	_, err := Connect(context.Background(), []byte(cfg), "", "")
	var pe *ExecPluginError
	if !errors.As(err, &pe) || pe.Command != "ack-ram-tool" || pe.Context != "ack" || pe.User != "ram" {
		t.Fatalf("err %v (%T), want *ExecPluginError naming ack-ram-tool", err, err)
	}
	if !strings.Contains(err.Error(), "cannot run inside goship's container") || !strings.Contains(err.Error(), "ServiceAccount token") {
		t.Errorf("message does not say why and what to do: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s: the exec plugin must be refused before connecting", took)
	}
}
