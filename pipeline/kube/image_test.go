package kube

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// TestImageCheckCredentialHelperPath: against a registry that needs a
// login (as a private ACR repository), a deploy without registry
// credentials (the nodes pull with their credential helper) skips the
// image check with a line saying so, never refuses; credentials given for
// the check only are used and refused when wrong; a missing image is
// refused when the registry can tell.
func TestImageCheckCredentialHelperPath(t *testing.T) {
	reg := testworld.StartRegistry(t)
	ref := reg.Push(t, testworld.HelloImage(t, "v1", false), "goship/private:v1")
	missing := ref.Context().Digest("sha256:" + strings.Repeat("ef", 32)).String()
	ctx := context.Background()
	check := func(image string, auth *RegistryAuth) (string, error) {
		var buf bytes.Buffer
		s := Spec{App: "hello", Image: image, PlainHTTP: true, CheckAuth: auth}
		err := checkImage(ctx, s, newProgress(&buf))
		return buf.String(), err
	}

	out, err := check(ref.String(), nil)
	if err != nil || !strings.Contains(out, "image check skipped: registry "+reg.Host+" refuses anonymous reads") || !strings.Contains(out, "credential-helper") {
		t.Fatalf("anonymous against a private registry: err %v, log %q; want skipped with a line", err, out)
	}
	out, err = check(missing, nil)
	if err != nil || !strings.Contains(out, "skipped") {
		t.Fatalf("anonymous, missing image: err %v, log %q; want skipped (the registry cannot tell us)", err, out)
	}
	good := &RegistryAuth{Host: reg.Host, Username: reg.Username, Password: reg.Password}
	if out, err := check(ref.String(), good); err != nil || out != "" {
		t.Fatalf("with credentials: err %v, log %q; want checked, silent", err, out)
	}
	if _, err := check(missing, good); err == nil || !strings.Contains(err.Error(), "is not in the registry") {
		t.Fatalf("with credentials, missing image: %v; want refused", err)
	}
	bad := &RegistryAuth{Host: reg.Host, Username: reg.Username, Password: "wrong"}
	if _, err := check(ref.String(), bad); err == nil || !strings.Contains(err.Error(), "refuses the given credentials") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong credentials: %v; want refused, password not shown", err)
	}
}

// TestTemporaryTokenWarning: a pull secret from ACR's temporary token is
// made, with a warning that it expires after an hour.
func TestTemporaryTokenWarning(t *testing.T) {
	var buf bytes.Buffer
	objs, err := pullSecrets(Spec{App: "hello", RegistryAuth: &RegistryAuth{Host: "registry.cn-hangzhou.aliyuncs.com", Username: "cr_temp_user", Password: "tok"}}, newProgress(&buf))
	if err != nil || len(objs) != 1 {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "stops working about an hour after it was issued") {
		t.Errorf("no warning about the temporary token: %q", buf.String())
	}
	buf.Reset()
	if _, err := pullSecrets(Spec{App: "hello", RegistryAuth: &RegistryAuth{Host: "r", Username: "robot", Password: "p"}}, newProgress(&buf)); err != nil || buf.Len() != 0 {
		t.Errorf("a long-lived credential warned: %q %v", buf.String(), err)
	}
}
