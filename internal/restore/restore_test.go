package restore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

type env struct {
	srv    *cognitotest.Server
	api    *cip.Client
	source cognitotest.PopulateResult
	target string
	repo   *repo.Repo
	snap   *snapshot.Manifest
	dir    string
}

func setup(t *testing.T, users, groups int) *env {
	t.Helper()
	return setupWith(t, users, groups, cognitotest.Options{NoQuotas: true})
}

// setupWith is setup on a fake with the given options.
func setupWith(t *testing.T, users, groups int, opts cognitotest.Options) *env {
	t.Helper()
	srv := cognitotest.NewTestServer(t, opts)
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: users, Groups: groups, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	// The target: same schema and Google provider, no users or groups.
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0 // the fake has no quotas: do not pace
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, Rates: rates, MaxBackoff: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	api := cip.NewFromConfig(cfg)
	dir := t.TempDir()
	store, _ := storage.NewDir(filepath.Join(dir, "repo"))
	m, err := backup.Run(ctx, api, store, backup.Options{PoolID: src.PoolID, MFA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, api: api, source: src, target: tgt.PoolID, repo: repo.New(store), snap: m, dir: dir}
}

func (e *env) restore(t *testing.T, opts restore.Options) (*restore.Report, error) {
	t.Helper()
	opts.Target = e.target
	if opts.StatePath == "" {
		opts.StatePath = filepath.Join(e.dir, "state.jsonl")
	}
	return restore.Run(ctx, e.api, e.repo, e.snap, opts, nil)
}

// explained checks that every difference between the snapshot and the
// restored pool is one the restore report lists, item by item: a missing
// user needs a "user" item, a changed attribute an item naming that
// attribute, a changed status a "status" item, MFA an MFA item, a missing
// membership an item for the user; a changed enabled flag is never
// excused, and nothing may be made up.
func explained(t *testing.T, e *env, rep *restore.Report) {
	t.Helper()
	d, err := diff.Compare(ctx, diff.SnapshotSource{Repo: e.repo, Manifest: e.snap}, diff.LiveSource{API: e.api, PoolID: e.target},
		diff.Options{IgnoreAttributes: []string{"sub"}})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]map[string]bool{} // username → what
	for _, it := range append(append([]restore.Item{}, rep.NotRestored...), rep.Changed...) {
		if listed[it.Username] == nil {
			listed[it.Username] = map[string]bool{}
		}
		listed[it.Username][it.What] = true
	}
	if len(d.UsersAdded) != 0 || len(d.GroupsAdded)+len(d.GroupsRemoved)+len(d.GroupsChanged) != 0 || len(d.MembershipsAdded) != 0 {
		t.Fatalf("restore made up data: %+v", d)
	}
	for _, u := range d.UsersRemoved {
		if !listed[u]["user"] {
			t.Fatalf("user %s missing from the target and not in the report", u)
		}
	}
	for _, c := range d.UsersChanged {
		why := listed[c.Username]
		links := false
		for what := range why {
			links = links || strings.HasPrefix(what, "link to ")
		}
		for _, a := range c.Attributes {
			if !why["attribute "+a.Name] && !why["user"] && !(a.Name == "identities" && links) {
				t.Fatalf("user %s: attribute %s differs (%q → %q) and the report does not say why", c.Username, a.Name, a.Old, a.New)
			}
		}
		if len(c.Status) > 0 && !why["status"] {
			t.Fatalf("user %s: status %v and the report does not say why", c.Username, c.Status)
		}
		if len(c.Enabled) > 0 {
			t.Fatalf("user %s: enabled %v, the snapshot's flag must always be restored", c.Username, c.Enabled)
		}
		if c.MFA && !why["TOTP MFA"] && !why["MFA preferences"] {
			t.Fatalf("user %s: MFA differs and the report does not say why", c.Username)
		}
	}
	for _, m := range d.MembershipsRemoved {
		if len(listed[m.Username]) == 0 {
			t.Fatalf("membership %+v missing and not explained", m)
		}
	}
}

func TestRestoreIntoEmptyPool(t *testing.T) {
	e := setup(t, 800, 10)
	plan, err := e.restore(t, restore.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if plan.UsersCreate == 0 || plan.GroupsCreate != 10 || plan.UsersSkip != 0 {
		t.Fatalf("plan: %+v", plan)
	}
	if n := e.srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("dry run made %d AdminCreateUser calls", n)
	}
	rep, err := e.restore(t, restore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.UsersCreate != plan.UsersCreate || rep.SubMappings != rep.UsersCreate {
		t.Fatalf("restored %d users with %d sub mappings, planned %d", rep.UsersCreate, rep.SubMappings, plan.UsersCreate)
	}
	for _, m := range rep.Mappings {
		if m.OldSub == m.NewSub || len(m.NewSub) != 36 {
			t.Fatalf("sub mapping %+v", m)
		}
	}
	if e.srv.MessagesSent() != 0 {
		t.Fatalf("restore sent %d messages", e.srv.MessagesSent())
	}
	explained(t, e, rep)
	// Confirmed users are CONFIRMED, so "forgot password" works for them.
	out, err := e.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &e.target, Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil || len(out.Users) == 0 {
		t.Fatalf("no CONFIRMED users after restore: %v", err)
	}

	// A second run changes nothing.
	before := e.srv.OpStats("AdminCreateUser").Calls
	rep2, err := e.restore(t, restore.Options{})
	if err != nil || rep2.UsersCreate != 0 || e.srv.OpStats("AdminCreateUser").Calls != before {
		t.Fatalf("second run: %v %+v", err, rep2)
	}
}

func TestRestoreIntoPoolHoldingHalfTheUsers(t *testing.T) {
	for _, tc := range []struct{ via, mode string }{
		{restore.ViaAdmin, restore.OnExistingSkip}, {restore.ViaAdmin, restore.OnExistingUpdate}, {restore.ViaAdmin, restore.OnExistingFail},
		{restore.ViaImport, restore.OnExistingSkip}, {restore.ViaImport, restore.OnExistingUpdate},
	} {
		via, mode := tc.via, tc.mode
		t.Run(via+"/"+mode, func(t *testing.T) {
			e := setup(t, 300, 4)
			// Put half the users into the target first, with a changed name.
			var half []string
			i := 0
			for u, err := range e.repo.Users(ctx, e.snap) {
				if err != nil {
					t.Fatal(err)
				}
				if u.Status == "EXTERNAL_PROVIDER" || i%2 == 1 {
					i++
					continue
				}
				i++
				half = append(half, u.Username)
				if _, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &e.target, Username: aws.String(u.Username),
					MessageAction: types.MessageActionTypeSuppress, UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String("Stale Name")}}}); err != nil {
					t.Fatal(err)
				}
			}
			rep, err := e.restore(t, restore.Options{OnExisting: mode, Via: via, Import: restore.ImportOptions{
				RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, TempDir: t.TempDir()}})
			switch mode {
			case restore.OnExistingFail:
				if !errors.Is(err, restore.ErrExisting) {
					t.Fatalf("fail mode: %v", err)
				}
				return
			case restore.OnExistingSkip:
				if err != nil || rep.UsersSkip != len(half) {
					t.Fatalf("skip: %v skipped %d of %d", err, rep.UsersSkip, len(half))
				}
				g, _ := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(half[0])})
				if name := attr(g.UserAttributes, "name"); name != "Stale Name" {
					t.Fatalf("skip mode changed an existing user: name %q", name)
				}
			case restore.OnExistingUpdate:
				if err != nil || rep.UsersUpdate != len(half) {
					t.Fatalf("update: %v updated %d of %d", err, rep.UsersUpdate, len(half))
				}
				explained(t, e, rep)
			}
		})
	}
}

// count returns how many items are of kind what with a reason that holds
// reason.
func count(items []restore.Item, what, reason string) int {
	n := 0
	for _, it := range items {
		if it.What == what && strings.Contains(it.Reason, reason) {
			n++
		}
	}
	return n
}

func attr(as []types.AttributeType, name string) string {
	for _, a := range as {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func TestRestoreResumesAfterACrashWithoutDuplicates(t *testing.T) {
	e := setup(t, 600, 6)
	// The run dies after 150 users were confirmed (a crash, in effect: the
	// run stops with work half done).
	e.srv.InjectFault(cognitotest.Fault{Operation: "AdminSetUserPassword", Kind: cognitotest.FaultError, Code: "NotAuthorizedException", After: 150})
	if _, err := e.restore(t, restore.Options{}); err == nil || !strings.Contains(err.Error(), "NotAuthorizedException") {
		t.Fatalf("first run: %v", err)
	}
	e.srv.ClearFaults()
	rep, err := e.restore(t, restore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.UsersResumed == 0 {
		t.Fatalf("second run resumed no user: %+v", rep)
	}
	explained(t, e, rep)
	// Every user once: the target holds as many users as were restorable.
	n := 0
	live := diff.LiveSource{API: e.api, PoolID: e.target}
	for _, err := range live.Users(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != rep.SubMappings {
		t.Fatalf("target holds %d users, %d were created", n, rep.SubMappings)
	}
}

func TestSubAttributeMustExistInTarget(t *testing.T) {
	e := setup(t, 20, 0)
	_, err := e.restore(t, restore.Options{SubAttribute: "custom:nope"})
	if err == nil || !strings.Contains(err.Error(), "custom:nope") {
		t.Fatalf("missing sub attribute: %v", err)
	}
	rep, err := e.restore(t, restore.Options{SubAttribute: "custom:legacy_sub"})
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Mappings[0]
	g, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &e.target, Username: aws.String(m.Username)})
	if err != nil || attr(g.UserAttributes, "custom:legacy_sub") != m.OldSub {
		t.Fatalf("legacy sub not stored: %v", err)
	}
}

// bothVerified are the AutoVerifiedAttributes of a pool that verifies email
// and phone number: without one an import job does not start.
var bothVerified = []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail, types.VerifiedAttributeTypePhoneNumber}

func TestRestoreThroughImportJobs(t *testing.T) {
	e := setup(t, 1200, 6)
	rep, err := e.restore(t, restore.Options{Via: restore.ViaImport, Import: restore.ImportOptions{
		RoleArn: "arn:aws:iam::123456789012:role/import", MaxUsers: 500, PollInterval: 5 * time.Millisecond, TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ImportJobs) < 2 || rep.UsersImported < 600 {
		t.Fatalf("import jobs %+v, imported %d", rep.ImportJobs, rep.UsersImported)
	}
	for _, j := range rep.ImportJobs {
		if j.Users > 500 || j.Failed != 0 {
			t.Fatalf("job %+v: a part over 500 users, or failed lines the writer should have routed", j)
		}
	}
	viaAdmin := count(rep.Changed, "path", "")
	if viaAdmin == 0 {
		t.Fatal("no user routed to the admin path, though the generated pool has values the import file cannot carry")
	}
	if e.srv.MessagesSent() != 0 {
		t.Fatalf("restore sent %d messages", e.srv.MessagesSent())
	}
	if rep.SubMappings != rep.UsersCreate {
		t.Fatalf("%d sub mappings for %d users", rep.SubMappings, rep.UsersCreate)
	}
	explained(t, e, rep)
	if _, err := e.restore(t, restore.Options{Via: restore.ViaImport}); err == nil || !strings.Contains(err.Error(), "import-role-arn") {
		// A rerun has nothing to import, but still needs its role.
		t.Fatalf("import without a role: %v", err)
	}
}

// A target stricter than the source: lines fail in the import job, the log
// says why, the admin path is refused too, and the report names each user
// with the service's reason; everything else is restored.
func TestImportFailuresAreReportedWithTheLogsReason(t *testing.T) {
	e := setup(t, 300, 0)
	schema := []types.SchemaAttributeType{}
	for _, name := range cognitotest.CustomAttributes {
		sa := types.SchemaAttributeType{Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)}
		switch name {
		case "score":
			sa.AttributeDataType = types.AttributeDataTypeNumber
		case "plan":
			sa.AttributeDataType = types.AttributeDataTypeNumber // "pro", "enterprise" are no numbers
		}
		schema = append(schema, sa)
	}
	out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("strict"), Schema: schema, AutoVerifiedAttributes: bothVerified,
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	e.target = aws.ToString(out.UserPool.Id)
	logs := cloudwatchlogs.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	rep, err := e.restore(t, restore.Options{Via: restore.ViaImport, Import: restore.ImportOptions{
		RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, TempDir: t.TempDir(), Logs: logs}})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]bool{}
	for _, it := range rep.NotRestored {
		if strings.Contains(it.Reason, "the target refused it") {
			refused[it.Username] = true
			if !strings.Contains(it.Reason, "Invalid number for attribute") {
				t.Fatalf("refusal without the service's reason: %+v", it)
			}
		}
	}
	fromLog := 0
	for _, it := range rep.Changed {
		if strings.Contains(it.Reason, "its import line failed: Invalid number for attribute") {
			fromLog++
			if !refused[it.Username] {
				t.Fatalf("%s failed to import but is not reported as refused", it.Username)
			}
		}
	}
	if fromLog == 0 {
		t.Fatal("no failed import line was named from the job's log")
	}
	if len(rep.ImportJobs) != 1 || rep.ImportJobs[0].Failed != int64(fromLog) {
		t.Fatalf("job %+v, failed lines named from the log: %d", rep.ImportJobs, fromLog)
	}
}

// A value longer than the target's schema allows is reported by the plan,
// naming the attribute, and never sent: no call fails half-way.
func TestOverlongValuesAreReportedBeforeAnyWrite(t *testing.T) {
	for _, via := range []string{restore.ViaAdmin, restore.ViaImport} {
		t.Run(via, func(t *testing.T) {
			e := setup(t, 200, 0)
			var schema []types.SchemaAttributeType
			for _, name := range cognitotest.CustomAttributes {
				sa := types.SchemaAttributeType{Name: aws.String(name), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)}
				switch name {
				case "score":
					sa.AttributeDataType = types.AttributeDataTypeNumber
				case "plan":
					sa.StringAttributeConstraints = &types.StringAttributeConstraintsType{MaxLength: aws.String("4")} // "enterprise" no longer fits
				}
				schema = append(schema, sa)
			}
			out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("strict"), Schema: schema, AutoVerifiedAttributes: bothVerified})
			if err != nil {
				t.Fatal(err)
			}
			e.target = aws.ToString(out.UserPool.Id)
			e.srv.ResetStats()
			rep, err := e.restore(t, restore.Options{Via: via, Import: restore.ImportOptions{
				RoleArn: "arn:aws:iam::123456789012:role/import", PollInterval: 5 * time.Millisecond, TempDir: t.TempDir()}})
			if err != nil {
				t.Fatal(err)
			}
			long := count(rep.NotRestored, "attribute custom:plan", "holds 10 characters; the target pool allows 4")
			if long == 0 {
				t.Fatalf("no user reported for a custom:plan longer than the target allows: %+v", rep.NotRestored)
			}
			for _, op := range []string{"AdminCreateUser", "AdminUpdateUserAttributes"} {
				if st := e.srv.OpStats(op); st.Errors != 0 {
					t.Errorf("%s failed %d times: over-long values were sent", op, st.Errors)
				}
			}
			for _, j := range rep.ImportJobs {
				if j.Failed != 0 {
					t.Errorf("import job %+v has failed lines: over-long values were sent", j)
				}
			}
		})
	}
}

// Two users of a case-sensitive pool that are one user in a
// case-insensitive target: the second is reported, never merged into the
// first, and the sub mapping stays right.
func TestCaseCollisionsAreReportedNotMerged(t *testing.T) {
	e := setup(t, 0, 0)
	src, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("case-sensitive")})
	if err != nil {
		t.Fatal(err)
	}
	pool := src.UserPool.Id
	subs := map[string]string{}
	for _, name := range []string{"Casey", "casey"} {
		out, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: pool, Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.User.Attributes {
			if aws.ToString(a.Name) == "sub" {
				subs[name] = aws.ToString(a.Value)
			}
		}
	}
	store, _ := storage.NewDir(filepath.Join(e.dir, "repo2"))
	m, err := backup.Run(ctx, e.api, store, backup.Options{PoolID: aws.ToString(pool)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := restore.Run(ctx, e.api, repo.New(store), m, restore.Options{Target: e.target, StatePath: filepath.Join(e.dir, "case.state")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var refused []restore.Item
	for _, it := range rep.NotRestored {
		if it.What == "user" {
			refused = append(refused, it)
		}
	}
	if rep.UsersCreate != 1 || len(refused) != 1 || !strings.Contains(refused[0].Reason, "case-insensitive") {
		t.Fatalf("report: created %d, not restored %+v", rep.UsersCreate, rep.NotRestored)
	}
	if len(rep.Mappings) != 1 || rep.Mappings[0].OldSub != subs[rep.Mappings[0].Username] {
		t.Fatalf("sub mapping %+v for subs %v", rep.Mappings, subs)
	}
}
