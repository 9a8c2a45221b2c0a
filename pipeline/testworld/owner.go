package testworld

import (
	"os"
	"testing"
)

// ChownToDeployUser gives dir to the deploy user, as a server's admin
// gives it the directories goship manages.
func ChownToDeployUser(t testing.TB, dir string) {
	t.Helper()
	uid := ensureDeployUser(t)
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
}
