package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/storage"
)

// TestMigrateFinishRemovesOnlyTheMigrationFunction guards finish's trigger
// removal (review finding 6): a slot is cleared only when it holds the
// migration function; a team's own PostAuthentication function put back
// after start (a Terraform apply of the pool's lambda_config, say) is left
// and reported, and other triggers are untouched.
func TestMigrateFinishRemovesOnlyTheMigrationFunction(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, _, _ := startedMigration(t, w)
	const theirs = "arn:aws:lambda:us-east-1:111122223333:function:analytics"
	const audit = "arn:aws:lambda:us-east-1:111122223333:function:audit"
	if err := w.srv.SetLambdaConfig(target, map[string]string{"UserMigration": fnARN, "PostAuthentication": theirs, "PreAuthentication": audit}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errOut := run(t, ctx, w.args(finishArgs(w, target, dir)...)...)
	if code != 0 && code != 3 {
		t.Fatalf("finish: exit %d\n%s\n%s", code, out, errOut)
	}
	p := w.describe(t, target)
	if p.LambdaConfig == nil || aws.ToString(p.LambdaConfig.PostAuthentication) != theirs || aws.ToString(p.LambdaConfig.PreAuthentication) != audit {
		t.Errorf("finish removed the team's own functions (now %+v)", p.LambdaConfig)
	}
	if p.LambdaConfig != nil && p.LambdaConfig.UserMigration != nil {
		t.Errorf("finish left the migration function in UserMigration: %s", aws.ToString(p.LambdaConfig.UserMigration))
	}
	if !strings.Contains(out, "trigger left PostAuthentication holds "+theirs) {
		t.Errorf("the report does not say the PostAuthentication function was left:\n%s", out)
	}
}

// finishArgs is a finish of target whose side files go to dir.
func finishArgs(w *migrationWorld, target, dir string, more ...string) []string {
	return append([]string{"migrate", "finish", "--from", w.source, "--to", target, "--mapping-file", dir + "/subs", "--state-dir", dir, "--repo", w.repo}, more...)
}

// TestMigrateFinishGivesNothingToAnImpostor guards finish's proof of who
// migrated (review finding 1). After start, someone self-signs-up in the
// target (left UNCONFIRMED; an admin-created user is the same) under the
// username of a source user with groups who has not migrated yet. Nothing
// proves the migration made that user: it gets no groups and no mapping,
// the source user is not restored over it, the report names the conflict
// and what to do, and finish exits 3. The user who migrated at sign-in
// (its users/ record in the repository) still gets its groups.
func TestMigrateFinishGivesNothingToAnImpostor(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, src, moved := startedMigration(t, w)
	var victim types.UserType
	for _, u := range src {
		n := aws.ToString(u.Username)
		if n != moved && u.UserStatus == types.UserStatusTypeConfirmed && len(w.groupsOf(t, w.source, n)) > 0 {
			victim = u
			break
		}
	}
	if victim.Username == nil {
		t.Fatal("no second source user with groups")
	}
	app := w.appClient(t, target)
	if _, err := w.api.SignUp(ctx, &cip.SignUpInput{ClientId: &app, Username: victim.Username, Password: aws.String("Impostor-pass-1"),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("impostor@example.net")}}}); err != nil {
		t.Fatalf("sign-up: %v", err)
	}
	dir := t.TempDir()
	code, out, errOut := run(t, ctx, w.args(finishArgs(w, target, dir)...)...)
	if code != 3 {
		t.Fatalf("finish: exit %d, want 3 (a conflict)\n%s\n%s", code, out, errOut)
	}
	name := aws.ToString(victim.Username)
	if got := w.groupsOf(t, target, name); len(got) > 0 {
		t.Errorf("the impostor got the source user's groups %v", got)
	}
	u, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: victim.Username})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := attrOf(u.UserAttributes, "email"); e != "impostor@example.net" {
		t.Errorf("the impostor was restored over (email %s)", e)
	}
	if !strings.Contains(out, "conflict     target user "+name+" matches source user "+name) || !strings.Contains(out, "admin-delete-user") {
		t.Errorf("the report does not name the conflict and what to do:\n%s", out)
	}
	b, err := os.ReadFile(dir + "/subs.json")
	if err != nil {
		t.Fatal(err)
	}
	oldSub, _ := attrOf(victim.Attributes, "sub")
	if strings.Contains(string(b), oldSub) {
		t.Error("the mapping pairs the source user with the impostor")
	}
	if got, want := w.groupsOf(t, target, moved), w.groupsOf(t, w.source, moved); !sameStrings(got, want) {
		t.Errorf("the user who migrated at sign-in has groups %v, want %v", got, want)
	}
}

// TestMigrateFinishWantsTheRecords: finish without --repo (where the
// function's records prove who migrated) is refused before any write,
// naming --repo and --no-records. With --no-records and a function that
// recorded nowhere, the user who migrated at sign-in is proven only by
// custom:legacy_sub, and only while no app client of the target may write
// that attribute: with an app client without a WriteAttributes list (which
// may write it, facts §34.3) it is a conflict; when every client lists its
// WriteAttributes without it, the user gets its groups.
func TestMigrateFinishWantsTheRecords(t *testing.T) {
	for _, writable := range []bool{true, false} {
		t.Run(fmt.Sprintf("writable=%v", writable), func(t *testing.T) {
			isolateAWS(t)
			ctx := context.Background()
			w := newMigrationWorld(t)
			target := w.targetLike(t, false)
			code, out, errOut := run(t, ctx, w.args("migrate", "start", "--from", w.source, "--to", target, "--function-arn", fnARN, "--output", "json", "--repo", w.repo)...)
			var started struct {
				Function struct{ Environment map[string]string }
			}
			if code != 0 || json.Unmarshal([]byte(out), &started) != nil || started.Function.Environment["COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE"] == "" {
				t.Fatalf("migrate start: exit %d (want the legacy sub attribute in the environment)\n%s\n%s", code, out, errOut)
			}
			// The function was given no repository: it records nowhere.
			delete(started.Function.Environment, "COGVAULT_REPO")
			w.configure(t, target, started.Function.Environment)
			in := &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("app"),
				ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}}
			if !writable {
				in.WriteAttributes = []string{"email", "name"}
			}
			c, err := w.api.CreateUserPoolClient(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			moved := ""
			for _, u := range w.users(t, w.source) {
				if n := aws.ToString(u.Username); u.UserStatus == types.UserStatusTypeConfirmed && u.Enabled && len(w.groupsOf(t, w.source, n)) > 0 {
					moved = n
					break
				}
			}
			if err := w.signIn(aws.ToString(c.UserPoolClient.ClientId), moved, migratePW); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			w.srv.ResetStats()
			code, out, errOut = run(t, ctx, w.args("migrate", "finish", "--from", w.source, "--to", target, "--state-dir", dir)...)
			if code != 2 || !strings.Contains(errOut, "--repo is required") || !strings.Contains(errOut, "--no-records") || w.srv.OpStats("UpdateUserPool").Calls+w.srv.OpStats("AdminCreateUser").Calls != 0 {
				t.Fatalf("finish without --repo: exit %d, want 2 before any write\n%s\n%s", code, out, errOut)
			}
			code, out, errOut = run(t, ctx, w.args("migrate", "finish", "--from", w.source, "--to", target, "--state-dir", dir, "--mapping-file", dir+"/subs", "--no-records")...)
			conflict := strings.Contains(out, "conflict     target user "+moved)
			got, want := w.groupsOf(t, target, moved), w.groupsOf(t, w.source, moved)
			switch {
			case code != 0 && code != 3:
				t.Fatalf("finish --no-records: exit %d\n%s\n%s", code, out, errOut)
			case writable && (!conflict || code != 3 || len(got) != 0):
				t.Errorf("an app client may write custom:legacy_sub, yet the user was taken as migrated (exit %d, groups %v)\n%s", code, got, out)
			case !writable && (conflict || !sameStrings(got, want)):
				t.Errorf("the user proven by custom:legacy_sub: groups %v, want %v\n%s", got, want, out)
			}
		})
	}
}

// TestMigrateFinishTakesAForgotPasswordMigration: a user migrated by
// "forgot password" (RESET_REQUIRED in the target) who has not signed in
// yet has no users/ record, only the function's pending record. finish
// proves it by that record (PostAuthentication's rule: the exact name and a
// creation time at the migration), so the user is no conflict, gets its
// groups and is in the mapping.
func TestMigrateFinishTakesAForgotPasswordMigration(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, src, moved := startedMigration(t, w)
	app := w.appClient(t, target)
	var reset string
	for _, u := range src {
		n := aws.ToString(u.Username)
		email, _ := attrOf(u.Attributes, "email_verified")
		if n != moved && u.UserStatus == types.UserStatusTypeConfirmed && u.Enabled && email == "true" && len(w.groupsOf(t, w.source, n)) > 0 {
			reset = n
			break
		}
	}
	if reset == "" {
		t.Fatal("no second source user with groups and a verified email")
	}
	if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &app, Username: &reset}); err != nil {
		t.Fatalf("forgot password: %v", err)
	}
	if u, err := w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target, Username: &reset}); err != nil || u.UserStatus != types.UserStatusTypeResetRequired {
		t.Fatalf("forgot password did not migrate the user: %v", err)
	}
	dir := t.TempDir()
	code, out, errOut := run(t, ctx, w.args(finishArgs(w, target, dir)...)...)
	if (code != 0 && code != 3) || strings.Contains(out, "conflict") {
		t.Fatalf("finish: exit %d (want no conflict)\n%s\n%s", code, out, errOut)
	}
	if got, want := w.groupsOf(t, target, reset), w.groupsOf(t, w.source, reset); !sameStrings(got, want) {
		t.Errorf("the user migrated by forgot password has groups %v, want %v", got, want)
	}
	b, err := os.ReadFile(dir + "/subs.json")
	if err != nil {
		t.Fatal(err)
	}
	var maps []struct{ Username string }
	if err := json.Unmarshal(b, &maps); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(maps, func(m struct{ Username string }) bool { return m.Username == reset }) {
		t.Errorf("the mapping lacks the user migrated by forgot password:\n%s", b)
	}
}

// TestMigrateFinishRefusesAForeignUsersRecord: a users/ record whose body
// does not pair the new sub its name gives (not the function's) proves
// nothing: finish refuses before any write, naming the record, rather than
// pair a target user with a source user on its word.
func TestMigrateFinishRefusesAForeignUsersRecord(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, src, _ := startedMigration(t, w)
	store, err := storage.NewDir(w.repo)
	if err != nil {
		t.Fatal(err)
	}
	oldSub, _ := attrOf(src[0].Attributes, "sub")
	key := "migrations/" + target + "/users/00000000-0000-4000-8000-000000000000.json"
	if err := store.Put(ctx, key, strings.NewReader(`{"oldSub":"`+oldSub+`","newSub":"11111111-1111-4111-8111-111111111111"}`)); err != nil {
		t.Fatal(err)
	}
	w.srv.ResetStats()
	dir := t.TempDir()
	code, out, errOut := run(t, ctx, w.args(finishArgs(w, target, dir)...)...)
	if code != 2 || !strings.Contains(errOut, key) || !strings.Contains(errOut, "not a users/ record of the migration function") {
		t.Errorf("finish with a foreign users/ record: exit %d, want 2 naming it\n%s\n%s", code, out, errOut)
	}
	for _, op := range []string{"AdminCreateUser", "AdminAddUserToGroup", "UpdateUserPool"} {
		if n := w.srv.OpStats(op).Calls; n != 0 {
			t.Errorf("a refused finish called %s %d times", op, n)
		}
	}
}

// TestMigrateFinishKeepsTheTargetsGroupChanges: a user who migrated at
// sign-in got their source groups from the function then (its users/
// record says so); an admin of the new pool removes one since. Finish
// leaves that as it is instead of putting the user back (review finding
// 7), while still giving groups to users it restored.
func TestMigrateFinishKeepsTheTargetsGroupChanges(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, _, moved := startedMigration(t, w)
	gs := w.groupsOf(t, target, moved)
	if len(gs) == 0 || !sameStrings(gs, w.groupsOf(t, w.source, moved)) {
		t.Fatalf("the migrated user has groups %v in the target, want the source's %v (PostAuthentication)", gs, w.groupsOf(t, w.source, moved))
	}
	if _, err := w.api.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{UserPoolId: &target, Username: &moved, GroupName: aws.String(gs[0])}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if code, out, errOut := run(t, ctx, w.args(finishArgs(w, target, dir)...)...); code != 0 && code != 3 {
		t.Fatalf("finish: exit %d\n%s\n%s", code, out, errOut)
	}
	if slices.Contains(w.groupsOf(t, target, moved), gs[0]) {
		t.Errorf("finish put the migrated user back into %q, which the new pool's admin removed after the migration", gs[0])
	}
	restoredWithGroups := 0
	for _, u := range w.users(t, w.source) {
		name := aws.ToString(u.Username)
		if name != moved && len(w.groupsOf(t, w.source, name)) > 0 && sameStrings(w.groupsOf(t, target, name), w.groupsOf(t, w.source, name)) {
			restoredWithGroups++
		}
	}
	if restoredWithGroups == 0 {
		t.Error("no user finish restored has its source groups")
	}
}
