package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/storage"
)

// TestMigrateStatusTellsSignInsFromFinish guards status after finish
// (review minor): the users finish restored are not counted as migrated at
// sign-in; those the function recorded (users/<new sub>.json, the shared
// contract) are.
func TestMigrateStatusTellsSignInsFromFinish(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, src, moved := startedMigration(t, w)
	dir := t.TempDir()
	repoDir := dir + "/repo"
	if code, out, errOut := run(t, ctx, w.args("migrate", "finish", "--from", w.source, "--to", target, "--state-dir", dir, "--repo", repoDir)...); code != 0 && code != 3 {
		t.Fatalf("finish: exit %d\n%s\n%s", code, out, errOut)
	}
	u, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: &moved})
	if err != nil {
		t.Fatal(err)
	}
	var newSub string
	for _, a := range u.UserAttributes {
		if aws.ToString(a.Name) == "sub" {
			newSub = aws.ToString(a.Value)
		}
	}
	store, err := storage.NewDir(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	// What the function writes after the user's first sign-in.
	if err := store.Put(ctx, "migrations/"+target+"/users/"+newSub+".json", strings.NewReader(`{"newSub":"`+newSub+`"}`)); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target, "--repo", repoDir, "--output", "json")...)
	var st struct {
		Migrated, MigratedAtSignIn, MigratedWithoutRecord int
		TriggersRemoved                                   bool
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	if st.MigratedAtSignIn != 1 || st.MigratedWithoutRecord != st.Migrated-1 || st.Migrated < len(src)/2 || !st.TriggersRemoved {
		t.Errorf("status after finish: %+v, want 1 at sign-in and the rest without a record, triggers removed", st)
	}
	_, out, _ = run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target, "--repo", repoDir)...)
	if !strings.Contains(out, "at sign-in 1 ") || !strings.Contains(out, "by finish  ") {
		t.Errorf("status text after finish:\n%s", out)
	}
	_, out, _ = run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target)...)
	if !strings.Contains(out, "origin     unknown: give --repo") {
		t.Errorf("status without --repo does not say the origin is unknown:\n%s", out)
	}
}
