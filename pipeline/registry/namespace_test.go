package registry

import (
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// NewRepository accepts exactly the namespaces docker's reference parser
// accepts, so a bad one fails before the build rather than at the push.
func TestNamespacesAgreeWithDocker(t *testing.T) {
	d := testworld.NeedDocker(t)
	host, _ := ParseHost("127.0.0.1:5000")
	for _, ns := range []string{"team", "my.team", "my..team", "my_team", "my__team", "my___team", "my-team", "my--team", "my.-team", "my._team", "a1.b2_c3-d4"} {
		_, ours := NewRepository(host, ns, "hello")
		_, err := d.Try(nil, "image", "inspect", "127.0.0.1:5000/"+ns+"/hello:v1")
		dockerRejects := err != nil && strings.Contains(err.Error(), "invalid reference format")
		if (ours != nil) != dockerRejects {
			t.Errorf("namespace %q: NewRepository says %v, docker says %v", ns, ours, err)
		}
	}
}
