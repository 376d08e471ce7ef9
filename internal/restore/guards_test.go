package restore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// snapshotUsers reads the snapshot's users and each one's groups.
func snapshotUsers(t *testing.T, e *env) ([]snapshot.User, map[string][]string) {
	t.Helper()
	var users []snapshot.User
	for u, err := range e.repo.Users(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	groups := map[string][]string{}
	for mm, err := range e.repo.Memberships(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		groups[mm.Username] = append(groups[mm.Username], mm.Group)
	}
	return users, groups
}

// precreate puts a user into the target before the restore, as someone
// else (or an earlier life of the pool) did.
func (e *env) precreate(t *testing.T, username string, attrs ...types.AttributeType) {
	t.Helper()
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &e.target, Username: aws.String(username),
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
}

// firstUser is the first restorable snapshot user that ok accepts.
func firstUser(t *testing.T, users []snapshot.User, what string, ok func(snapshot.User) bool) string {
	t.Helper()
	for _, u := range users {
		if u.Status != "EXTERNAL_PROVIDER" && ok(u) {
			return u.Username
		}
	}
	t.Fatalf("no snapshot user %s", what)
	return ""
}

// A user the restore skips may be another person: it keeps exactly the
// groups it had, even when the snapshot's user of that name was an admin.
func TestSkippedUserKeepsExactlyItsGroups(t *testing.T) {
	e := setup(t, 200, 6)
	users, groups := snapshotUsers(t, e)
	victim := firstUser(t, users, "with a group", func(u snapshot.User) bool { return len(groups[u.Username]) > 0 })
	e.precreate(t, victim)
	if _, err := e.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &e.target, GroupName: aws.String("own-group")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &e.target, Username: aws.String(victim), GroupName: aws.String("own-group")}); err != nil {
		t.Fatal(err)
	}
	for _, via := range []string{restore.ViaAdmin, restore.ViaImport} {
		rep, err := e.restore(t, restore.Options{Via: via, StatePath: filepath.Join(t.TempDir(), via+".state"),
			Import: restore.ImportOptions{RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, TempDir: t.TempDir()}})
		if err != nil {
			t.Fatal(err)
		}
		if got := groupsOf(t, e, victim); !slices.Equal(got, []string{"own-group"}) {
			t.Fatalf("%s: skipped user %s has groups %v, want only its own", via, victim, got)
		}
		if rep.MembershipsSkipped < len(groups[victim]) {
			t.Fatalf("%s: %d memberships reported skipped, the skipped user had %d", via, rep.MembershipsSkipped, len(groups[victim]))
		}
	}
}

// A target whose schema lacks attributes of the snapshot is refused before
// the first write, one line per attribute with the users affected;
// --drop-attribute proceeds and the report lists what was dropped.
func TestMissingAttributesAreRefusedBeforeAnyWrite(t *testing.T) {
	e := setup(t, 150, 3)
	var schema []types.SchemaAttributeType
	for _, sa := range customSchema() {
		if n := aws.ToString(sa.Name); n != "notes" && n != "tenant_id" {
			schema = append(schema, sa)
		}
	}
	out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("narrow"), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
	users, _ := snapshotUsers(t, e)
	withTenant := 0 // the users the restore would create that have one
	for _, u := range users {
		if _, ok := u.Attr("custom:tenant_id"); ok && u.Status != "EXTERNAL_PROVIDER" {
			withTenant++
		}
	}
	e.srv.ResetStats()
	for _, dryRun := range []bool{true, false} {
		_, err = e.restore(t, restore.Options{DryRun: dryRun})
		if !errors.Is(err, restore.ErrRefused) || !strings.Contains(err.Error(), fmt.Sprintf("attribute custom:tenant_id: the target pool's schema lacks it; %d user(s)", withTenant)) ||
			!strings.Contains(err.Error(), "attribute custom:notes") {
			t.Fatalf("dry run %v: %v", dryRun, err)
		}
	}
	for _, op := range []string{"AdminCreateUser", "CreateGroup", "AdminAddUserToGroup"} {
		if n := e.srv.OpStats(op).Calls; n != 0 {
			t.Fatalf("the refused restore called %s %d times", op, n)
		}
	}
	rep, err := e.restore(t, restore.Options{DropAttributes: map[string]bool{"custom:tenant_id": true, "custom:notes": true}})
	if err != nil {
		t.Fatal(err)
	}
	dropped := count(rep.NotRestored, "attribute custom:tenant_id", "--drop-attribute")
	if dropped != withTenant || rep.UsersCreate == 0 {
		t.Fatalf("dropped %d tenant ids of %d, created %d", dropped, withTenant, rep.UsersCreate)
	}
}

// With --on-existing fail, every conflict is found by the plan: nothing is
// created, not even groups.
func TestOnExistingFailWritesNothing(t *testing.T) {
	e := setup(t, 100, 3)
	users, _ := snapshotUsers(t, e)
	slices.Reverse(users)
	last := firstUser(t, users, "to find in the target", func(snapshot.User) bool { return true })
	e.precreate(t, last)
	e.srv.ResetStats()
	_, err := e.restore(t, restore.Options{OnExisting: restore.OnExistingFail})
	if !errors.Is(err, restore.ErrExisting) || !strings.Contains(err.Error(), last) {
		t.Fatalf("fail mode: %v", err)
	}
	for _, op := range []string{"AdminCreateUser", "CreateGroup"} {
		if n := e.srv.OpStats(op).Calls; n != 0 {
			t.Fatalf("--on-existing fail called %s %d times before stopping", op, n)
		}
	}
}

// A user disabled in the snapshot never has a moment in which it can sign
// in: it is disabled before its password is set, so a run that dies in
// between leaves it disabled, or with a password no one knows.
func TestDisabledUsersAreNeverUsable(t *testing.T) {
	for _, tc := range []struct{ fail, want string }{
		{"AdminSetUserPassword", "disabled"},
		{"AdminDisableUser", "not confirmed"},
	} {
		t.Run(tc.fail, func(t *testing.T) {
			e := setup(t, 300, 0)
			users, _ := snapshotUsers(t, e)
			disabled := map[string]bool{}
			for _, u := range users {
				if !u.Enabled && u.Status != "EXTERNAL_PROVIDER" && u.Status != "FORCE_CHANGE_PASSWORD" {
					disabled[u.Username] = true
				}
			}
			if len(disabled) == 0 {
				t.Fatal("no disabled user in the snapshot")
			}
			e.srv.InjectFault(cognitotest.Fault{Operation: tc.fail, Kind: cognitotest.FaultError, Code: "NotAuthorizedException"})
			if _, err := e.restore(t, restore.Options{Users: disabled, Workers: 1}); err == nil {
				t.Fatal("the restore did not fail")
			}
			e.srv.ClearFaults()
			seen := 0
			for name := range disabled {
				g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(name)})
				if err != nil {
					continue // not created yet
				}
				seen++
				if g.Enabled && g.UserStatus == types.UserStatusTypeConfirmed {
					t.Fatalf("user %s, disabled in the snapshot, is enabled and CONFIRMED after a failed run", name)
				}
				if tc.want == "disabled" && g.Enabled {
					t.Fatalf("user %s, disabled in the snapshot, is enabled after a failed run", name)
				}
			}
			if seen == 0 {
				t.Fatal("no disabled user was created before the failure")
			}
		})
	}
}

// A state file binds to one snapshot and one target.
func TestStateFileOfAnotherRestoreIsRefused(t *testing.T) {
	e := setup(t, 20, 0)
	state := filepath.Join(t.TempDir(), "s")
	if _, err := e.restore(t, restore.Options{StatePath: state}); err != nil {
		t.Fatal(err)
	}
	other, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "other", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	e.target = other.PoolID
	e.srv.ResetStats()
	_, err = e.restore(t, restore.Options{StatePath: state})
	if !errors.Is(err, restore.ErrStateMismatch) || !strings.Contains(err.Error(), other.PoolID) {
		t.Fatalf("state of another target: %v", err)
	}
	if n := e.srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("refused restore created %d users", n)
	}
}

// --on-existing update sends no message although emails change, and keeps
// the snapshot's verified flags.
func TestUpdateSendsNoVerificationMessage(t *testing.T) {
	e := setup(t, 60, 0)
	users, _ := snapshotUsers(t, e)
	var changed []string
	for _, u := range users {
		if _, ok := u.Attr("email"); !ok || u.Status == "EXTERNAL_PROVIDER" {
			continue
		}
		e.precreate(t, u.Username, types.AttributeType{Name: aws.String("email"), Value: aws.String("old-" + u.Username + "@example.org")})
		changed = append(changed, u.Username)
	}
	rep, err := e.restore(t, restore.Options{OnExisting: restore.OnExistingUpdate})
	if err != nil || rep.UsersUpdate != len(changed) {
		t.Fatalf("update: %v, %d updated of %d", err, rep.UsersUpdate, len(changed))
	}
	if n := e.srv.MessagesSent(); n != 0 {
		t.Fatalf("the update sent %d verification messages", n)
	}
	explained(t, e, rep)
}

// Restored twice (source → A → B) with --sub-attribute, a user keeps its
// first sub there, not the intermediate pool's.
func TestSubAttributeKeepsTheOriginalSub(t *testing.T) {
	e := setup(t, 30, 0)
	users, _ := snapshotUsers(t, e)
	first := map[string]string{}
	for _, u := range users {
		first[u.Username] = u.Sub
	}
	if _, err := e.restore(t, restore.Options{SubAttribute: "custom:legacy_sub"}); err != nil {
		t.Fatal(err)
	}
	e.repo, e.snap = backupPool(t, e, e.target, "second-repo")
	b, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "third", Seed: 31})
	if err != nil {
		t.Fatal(err)
	}
	e.target = b.PoolID
	rep, err := e.restore(t, restore.Options{SubAttribute: "custom:legacy_sub", StatePath: filepath.Join(t.TempDir(), "b.state")})
	if err != nil || rep.UsersCreate == 0 {
		t.Fatalf("second restore: %v", err)
	}
	for _, m := range rep.Mappings {
		g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(m.NewUsername)})
		if err != nil {
			t.Fatal(err)
		}
		if got := attr(g.UserAttributes, "custom:legacy_sub"); got != first[m.Username] {
			t.Fatalf("user %s keeps %q, its original sub is %q (the intermediate one %q)", m.Username, got, first[m.Username], m.OldSub)
		}
	}
}

// A backup without --mfa says so in its manifest, and a restore from it
// says once that MFA preferences were not in the snapshot.
func TestRestoreSaysWhenMFAPreferencesWereNotRead(t *testing.T) {
	e := setup(t, 20, 0)
	store, _ := storage.NewDir(filepath.Join(e.dir, "nomfa"))
	m, err := backup.Run(ctx, e.api, store, backup.Options{PoolID: e.source.PoolID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Omits(snapshot.OmitMFAPreferences) || e.snap.Omits(snapshot.OmitMFAPreferences) {
		t.Fatalf("manifest omitted %v (with --mfa: %v)", m.Omitted, e.snap.Omitted)
	}
	for _, tc := range []struct {
		m    *snapshot.Manifest
		r    *repo.Repo
		want int
	}{{m, repo.New(store), 1}, {e.snap, e.repo, 0}} {
		rep, err := restore.Run(ctx, e.api, tc.r, tc.m, restore.Options{Target: e.target, DryRun: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := count(rep.Changed, "MFA preferences", "not in snapshot")
		if n != tc.want {
			t.Fatalf("snapshot omitting %v: %d MFA notes, want %d", tc.m.Omitted, n, tc.want)
		}
	}
}

// A run that dies after linking a user's federated identity but before
// recording the user done links again on resume: "already linked" to this
// very user is success, not a failure to report.
func TestRelinkAfterACrashIsNotAFailure(t *testing.T) {
	e := setup(t, 300, 0)
	users, _ := snapshotUsers(t, e)
	linked := map[string]bool{}
	for _, u := range users {
		if len(u.Identities) > 0 && u.Status != "EXTERNAL_PROVIDER" {
			linked[u.Username] = true
		}
	}
	if len(linked) == 0 {
		t.Fatal("no linked user in the snapshot")
	}
	state := filepath.Join(t.TempDir(), "state")
	if _, err := e.restore(t, restore.Options{Users: linked, StatePath: state}); err != nil {
		t.Fatal(err)
	}
	// The crash: the "done" records never reached the file.
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if !strings.Contains(l, `"e":"done"`) {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(state, []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := e.restore(t, restore.Options{Users: linked, StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rep.NotRestored {
		if strings.HasPrefix(it.What, "link to") {
			t.Fatalf("a link the crashed run made is reported as not restored: %+v", it)
		}
	}
	if rep.LinksRestored != len(linked) {
		t.Fatalf("%d links restored on resume, want %d", rep.LinksRestored, len(linked))
	}
}

// Existing users the restore skips are not written: attributes the target
// lacks on them refuse nothing.
func TestSkippedUsersDoNotRefuseForLackingAttributes(t *testing.T) {
	e := setup(t, 200, 0)
	var schema []types.SchemaAttributeType
	for _, sa := range customSchema() {
		if aws.ToString(sa.Name) != "notes" {
			schema = append(schema, sa)
		}
	}
	out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("narrow"), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
	users, _ := snapshotUsers(t, e)
	var withNotes []string
	for _, u := range users {
		if _, ok := u.Attr("custom:notes"); ok && u.Status != "EXTERNAL_PROVIDER" {
			withNotes = append(withNotes, u.Username)
			e.precreate(t, u.Username)
		}
	}
	if len(withNotes) == 0 {
		t.Fatal("no snapshot user has custom:notes")
	}
	if _, err := e.restore(t, restore.Options{}); err != nil {
		t.Fatalf("users with the lacking attribute exist and are skipped, yet: %v", err)
	}
}

// An update the target refuses (here a stricter schema) is reported for
// that user, which gets no group; the rest of the restore goes on.
func TestRefusedUpdateIsReportedAndEarnsNoGroup(t *testing.T) {
	e := setup(t, 200, 4)
	schema := customSchema()
	for i := range schema {
		if aws.ToString(schema[i].Name) == "plan" {
			schema[i].AttributeDataType = types.AttributeDataTypeNumber // "pro" is no number
		}
	}
	out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("strict"), Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
	users, groups := snapshotUsers(t, e)
	victim := firstUser(t, users, "on plan pro with a group", func(u snapshot.User) bool {
		plan, _ := u.Attr("custom:plan")
		return plan == "pro" && len(groups[u.Username]) > 0
	})
	e.precreate(t, victim)
	rep, err := e.restore(t, restore.Options{OnExisting: restore.OnExistingUpdate})
	if err != nil {
		t.Fatalf("one refused update stopped the restore: %v", err)
	}
	found := false
	for _, it := range rep.NotRestored {
		found = found || (it.Username == victim && strings.Contains(it.Reason, "refused the update"))
	}
	if !found {
		t.Fatalf("the refused update of %s is not reported", victim)
	}
	if got := groupsOf(t, e, victim); len(got) != 0 {
		t.Fatalf("%s, whose update was refused, got groups %v", victim, got)
	}
}

// The report's lists are [] in JSON, never null: scripts iterate them.
func TestReportListsAreNeverNull(t *testing.T) {
	e := setup(t, 0, 0)
	rep, err := e.restore(t, restore.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"notRestored":[]`, `"changed":[]`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("report %s lacks %s", b, want)
		}
	}
}
