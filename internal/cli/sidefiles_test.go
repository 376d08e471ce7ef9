package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// sideFixture is a backed-up pool and an empty target, for the tests of
// where restore writes its side files.
type sideFixture struct {
	srv    *cognitotest.Server
	target string
	common []string
}

func newSideFixture(t *testing.T) sideFixture {
	t.Helper()
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 20, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", t.TempDir() + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	return sideFixture{srv: srv, target: tgt.PoolID, common: common}
}

// A restore run from a directory leaves nothing in it: the state file and
// the sub mapping go to $XDG_STATE_HOME/cogvault (0700, files 0600), the
// report names them, and a second run finds the state file there.
func TestRestoreLeavesNothingInTheCurrentDirectory(t *testing.T) {
	f := newSideFixture(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	args := append([]string{"restore", "latest", "--to", f.target, "--output", "json"}, f.common...)
	code, out, errOut := run(t, context.Background(), append(args, "--only", "groups,users")...)
	if code != 0 && code != 3 {
		t.Fatalf("restore: exit %d\n%s", code, errOut)
	}
	if left, _ := os.ReadDir(cwd); len(left) != 0 {
		t.Fatalf("restore left %v in the current directory", left)
	}
	var doc struct {
		StateDir, StateFile, MappingFile string
		Report                           struct{ UsersCreate, MembershipsAdd int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(os.Getenv("XDG_STATE_HOME"), "cogvault")
	if doc.StateDir != want || filepath.Dir(doc.StateFile) != want || filepath.Dir(doc.MappingFile) != want {
		t.Fatalf("side files in %q (%s, %s), want %s", doc.StateDir, doc.StateFile, doc.MappingFile, want)
	}
	checkMode(t, want, 0o700)
	for _, p := range append([]string{doc.StateFile}, doc.MappingFile+".csv", doc.MappingFile+".json") {
		checkMode(t, p, 0o600)
	}
	if doc.Report.UsersCreate == 0 {
		t.Fatal("the restore created no user: the test proves nothing")
	}
	// The same restore again, for memberships, finds the state file there:
	// memberships go only to the users its state says it created.
	code, out, errOut = run(t, context.Background(), append(args, "--only", "memberships")...)
	if err := json.Unmarshal([]byte(out), &doc); (code != 0 && code != 3) || err != nil || doc.Report.MembershipsAdd == 0 {
		t.Fatalf("--only memberships: exit %d, %d added (%v): the state file was not found\n%s", code, doc.Report.MembershipsAdd, err, errOut)
	}
	// The text report says where they are.
	code, out, _ = run(t, context.Background(), append([]string{"restore", "latest", "--to", f.target}, f.common...)...)
	if (code != 0 && code != 3) || !strings.Contains(out, want) {
		t.Fatalf("text report: exit %d, does not name %s:\n%s", code, want, out)
	}
	if left, _ := os.ReadDir(cwd); len(left) != 0 {
		t.Fatalf("restore left %v in the current directory", left)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
	}
}

// Side files that already exist with mode 0644 are 0600 after the run, and
// a --state-dir given on the command line is used.
func TestRestoreSideFilesArePrivateWhenTheyExisted(t *testing.T) {
	f := newSideFixture(t)
	dir := filepath.Join(t.TempDir(), "mine")
	state, subs := filepath.Join(t.TempDir(), "state"), filepath.Join(t.TempDir(), "subs")
	for _, p := range []string{state, subs + ".csv", subs + ".json"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errOut := run(t, context.Background(), append([]string{"restore", "latest", "--to", f.target,
		"--state-dir", dir, "--state-file", state, "--mapping-file", subs}, f.common...)...)
	if code != 0 && code != 3 {
		t.Fatalf("restore: exit %d\n%s", code, errOut)
	}
	for _, p := range []string{state, subs + ".csv", subs + ".json"} {
		checkMode(t, p, 0o600)
	}
	checkMode(t, dir, 0o700)
}

// A side file that is a symbolic link is refused, naming it, before the
// first write; the file it points to is left alone.
func TestRestoreRefusesSymlinkedSideFiles(t *testing.T) {
	f := newSideFixture(t)
	tmp := t.TempDir()
	victim := filepath.Join(tmp, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, link, value string }{
		{"--state-file", "state", "state"},
		{"--mapping-file", "subs.csv", "subs"},
		{"--mapping-file", "subs.json", "subs"},
	} {
		dir := t.TempDir()
		link := filepath.Join(dir, c.link)
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		before := f.srv.OpStats("AdminCreateUser").Calls + f.srv.OpStats("CreateGroup").Calls
		code, _, errOut := run(t, context.Background(), append([]string{"restore", "latest", "--to", f.target,
			c.flag, filepath.Join(dir, c.value)}, f.common...)...)
		if code != 2 || !strings.Contains(errOut, link) || !strings.Contains(errOut, "symbolic link") {
			t.Errorf("%s through a link: exit %d, stderr %q: want exit 2 naming %s", c.flag, code, errOut, link)
		}
		if n := f.srv.OpStats("AdminCreateUser").Calls + f.srv.OpStats("CreateGroup").Calls; n != before {
			t.Errorf("%s through a link: %d writes before the refusal", c.flag, n-before)
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Fatalf("the link's target was written: %q", b)
		}
	}
}

// A directory repository whose data directory is a link out of it is
// refused, naming the link.
func TestDirectoryRepositoryRefusesADataLink(t *testing.T) {
	f := newSideFixture(t)
	repoDir := f.common[len(f.common)-1]
	elsewhere := filepath.Join(t.TempDir(), "data")
	if err := os.Rename(filepath.Join(repoDir, "data"), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(repoDir, "data")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, context.Background(), append([]string{"verify"}, f.common...)...)
	if code == 0 || !strings.Contains(out+errOut, "data in repository "+repoDir) || !strings.Contains(out+errOut, "symbolic link") {
		t.Fatalf("verify through a data link: exit %d\n%s\n%s", code, out, errOut)
	}
}
