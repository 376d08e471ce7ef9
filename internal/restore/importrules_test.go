package restore_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

// importTarget creates an empty target with the populated pool's custom
// attributes and the given auto-verified attributes and MFA mode, and
// makes it e's target.
func importTarget(t *testing.T, e *env, av []types.VerifiedAttributeType, mfa types.UserPoolMfaType) {
	t.Helper()
	var schema []types.SchemaAttributeType
	for _, name := range cognitotest.CustomAttributes {
		sa := types.SchemaAttributeType{Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(name != "tenant_id")}
		if name == "score" {
			sa.AttributeDataType = types.AttributeDataTypeNumber
		}
		schema = append(schema, sa)
	}
	out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("rules"), Schema: schema,
		AutoVerifiedAttributes: av, MfaConfiguration: mfa, AliasAttributes: []types.AliasAttributeType{types.AliasAttributeTypeEmail, types.AliasAttributeTypePhoneNumber, types.AliasAttributeTypePreferredUsername}})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
}

// noFalseClaims fails when the report says an attribute of a user changed
// and the target shows no such difference: no item for a change that did
// not happen.
func noFalseClaims(t *testing.T, e *env, rep *restore.Report) {
	t.Helper()
	d, err := diff.Compare(ctx, diff.SnapshotSource{Repo: e.repo, Manifest: e.snap}, diff.LiveSource{API: e.api, PoolID: e.target},
		diff.Options{IgnoreAttributes: []string{"sub"}})
	if err != nil {
		t.Fatal(err)
	}
	differs := map[string]bool{}
	for _, u := range d.UsersRemoved {
		differs[u+" user"] = true
	}
	for _, c := range d.UsersChanged {
		for _, a := range c.Attributes {
			differs[c.Username+" attribute "+a.Name] = true
		}
	}
	for _, it := range append(append([]restore.Item{}, rep.Changed...), rep.NotRestored...) {
		if strings.HasPrefix(it.What, "attribute ") && !differs[it.Username+" "+it.What] && !differs[it.Username+" user"] {
			t.Errorf("report item %+v names a change the target does not show", it)
		}
	}
}

// importRestore restores e through import jobs and checks that the writer
// sent no line the importer refused: every rule breaker went to the admin
// path, with its reason, and the result is explained by the report.
func importRestore(t *testing.T, e *env) *restore.Report {
	t.Helper()
	rep, err := e.restore(t, importOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range rep.ImportJobs {
		if j.Failed != 0 || j.Status != "Succeeded" {
			t.Fatalf("job %+v: the writer sent lines the importer refuses", j)
		}
	}
	explained(t, e, rep)
	noFalseClaims(t, e, rep)
	return rep
}

// A pool with phone_number as its only auto-verified attribute needs
// phone_number_verified true on every line: users with only a verified
// email go through the admin path, keep their values, and say why.
func TestImportOneAutoVerifiedAttributeRoutesTheRest(t *testing.T) {
	e := setup(t, 200, 0)
	importTarget(t, e, []types.VerifiedAttributeType{types.VerifiedAttributeTypePhoneNumber}, types.UserPoolMfaTypeOptional)
	rep := importRestore(t, e)
	if rep.UsersImported == 0 {
		t.Fatal("no user imported: users with a verified phone number can go through a job")
	}
	if count(rep.Changed, "path", "no verified phone_number") == 0 {
		t.Fatalf("no user routed for lacking a verified phone number: %+v", rep.Changed)
	}
}

// cognito:mfa_enabled must agree with the pool's MFA mode: with MFA off,
// SMS-MFA users go through the admin path; with MFA required, users
// without SMS MFA do.
func TestImportMFAModeRoutesUsersThatDisagree(t *testing.T) {
	for _, tc := range []struct {
		mode types.UserPoolMfaType
		why  string
	}{
		{types.UserPoolMfaTypeOff, "MFA is off in the target pool"},
		{types.UserPoolMfaTypeOn, "the target pool requires MFA"},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := setup(t, 200, 0)
			importTarget(t, e, bothVerified, tc.mode)
			rep := importRestore(t, e)
			if count(rep.Changed, "path", tc.why) == 0 {
				t.Fatalf("no user routed with %q: %+v", tc.why, rep.Changed)
			}
		})
	}
}

// Either verification attribute is enough: a user without
// phone_number_verified is imported without one, and the report claims no
// change for it (importRestore's noFalseClaims).
func TestImportLeavesAnAbsentVerificationAttributeAbsent(t *testing.T) {
	e := setup(t, 200, 0)
	rep := importRestore(t, e)
	m := map[string]string{}
	for _, mp := range rep.Mappings {
		m[mp.Username] = mp.NewUsername
	}
	checked := 0
	for u, err := range e.repo.Users(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		if _, has := u.Attr("phone_number_verified"); has || m[u.Username] == "" {
			continue
		}
		g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(m[u.Username])})
		if err != nil {
			t.Fatal(err)
		}
		if g.UserStatus != types.UserStatusTypeResetRequired {
			continue // not imported
		}
		checked++
		if v := attr(g.UserAttributes, "phone_number_verified"); v != "" {
			t.Fatalf("imported %s has phone_number_verified %q; the snapshot has none", u.Username, v)
		}
	}
	if checked == 0 {
		t.Fatal("no imported user without phone_number_verified was checked")
	}
}

// The import file takes birthdate as mm/dd/yyyy; a user with a birthdate
// goes through the admin path and keeps its value exactly.
func TestImportRoutesBirthdates(t *testing.T) {
	e := setup(t, 50, 0)
	var who string
	for u, err := range e.repo.Users(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		noMFA := u.MFA == nil || len(u.MFA.UserMFASettingList) == 0
		if v, _ := u.Attr("email_verified"); v == "true" && u.Enabled && u.Status == "CONFIRMED" && noMFA {
			who = u.Username
			break
		}
	}
	if _, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &e.source.PoolID, Username: &who,
		UserAttributes: []types.AttributeType{{Name: aws.String("birthdate"), Value: aws.String("1985-02-01")}}}); err != nil {
		t.Fatal(err)
	}
	store, _ := storage.NewDir(e.dir + "/repo")
	m, err := backup.Run(ctx, e.api, store, backup.Options{PoolID: e.source.PoolID, MFA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.snap = m
	rep := importRestore(t, e)
	if count(rep.Changed, "path", "birthdate") != 1 {
		t.Fatalf("the user with a birthdate was not routed to the admin path: %+v", rep.Changed)
	}
	for _, mp := range rep.Mappings {
		if mp.Username != who {
			continue
		}
		g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(mp.NewUsername)})
		if err != nil || attr(g.UserAttributes, "birthdate") != "1985-02-01" {
			t.Fatalf("birthdate after restore: %v %+v", err, g)
		}
		return
	}
	t.Fatalf("%s not restored", who)
}

// A target without auto-verified attributes cannot run an import job: no
// job is created, every user goes through the admin path, and says why.
func TestImportWithoutAutoVerifiedAttributesUsesTheAdminPath(t *testing.T) {
	e := setup(t, 60, 0)
	importTarget(t, e, nil, types.UserPoolMfaTypeOptional)
	rep := importRestore(t, e)
	if len(rep.ImportJobs) != 0 || e.srv.OpStats("CreateUserImportJob").Calls != 0 {
		t.Fatalf("jobs %+v: an import job cannot start in this pool", rep.ImportJobs)
	}
	if count(rep.Changed, "path", "no auto-verified attribute") == 0 {
		t.Fatalf("the report does not say why no user was imported: %+v", rep.Changed)
	}
}

// A user can be in at most 100 groups: a membership the target refuses
// for that is reported, and the restore goes on with the rest.
func TestMembershipOverTheGroupLimitIsReported(t *testing.T) {
	e := setup(t, 10, 0)
	var who string
	for u, err := range e.repo.Users(ctx, e.snap) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Status == "CONFIRMED" && u.Enabled {
			who = u.Username
			break
		}
	}
	src, tgt := e.source.PoolID, e.target
	addTo := func(pool, g string) {
		t.Helper()
		if _, err := e.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: &g}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: &who, GroupName: &g}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		addTo(src, "g"+strconv.Itoa(i))
	}
	// The target already holds the user, in a group of its own.
	if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &tgt, Username: &who, MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	addTo(tgt, "target-only")
	store, _ := storage.NewDir(e.dir + "/repo")
	m, err := backup.Run(ctx, e.api, store, backup.Options{PoolID: src, MFA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.snap = m
	rep, err := e.restore(t, restore.Options{OnExisting: restore.OnExistingUpdate})
	if err != nil {
		t.Fatalf("a membership over the limit aborted the restore: %v", err)
	}
	refused := 0
	for _, it := range rep.NotRestored {
		if it.Username == who && it.What == "membership" && strings.Contains(it.Reason, "the target refused it") {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d memberships of %s reported refused, want 1 (the 101st group): %+v", refused, who, rep.NotRestored)
	}
	if rep.MembershipsAdd != 99 {
		t.Fatalf("%d memberships counted as added, want 99", rep.MembershipsAdd)
	}
}
