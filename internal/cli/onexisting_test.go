package cli_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// --on-existing fail with users already in the target is refused before
// any write; running the same command again would be refused again, so
// the error must not advise it.
func TestOnExistingFailGivesNoRerunAdvice(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 20, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	// Into its own pool: every user exists.
	code, out, errOut := run(t, context.Background(), append([]string{"restore", "latest", "--to", src.PoolID, "--on-existing", "fail", "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)...)
	if code != 2 || !strings.Contains(errOut, "already exist in "+src.PoolID) || !strings.Contains(errOut, "choose --on-existing skip or update") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, "again") {
		t.Errorf("the refusal advises running the command again:\n%s", errOut)
	}
}

// A restore limited by --users-file counts against its own total, not the
// snapshot's.
func TestUsersFileRestoreShowsItsOwnTotal(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 60, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	if err := os.WriteFile(dir+"/users", []byte(firstUser(t, srv, src.PoolID)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, context.Background(), append([]string{"restore", "latest", "--to", tgt.PoolID, "--users-file", dir + "/users",
		"--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "msg=finished task=users done=1 ") || !strings.Contains(errOut, "total=1 ") {
		t.Errorf("progress of a one-user restore:\n%s", errOut)
	}
}
