package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/migration"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
)

const (
	migratePW = "Source-pass-42"
	fnARN     = "arn:aws:lambda:us-east-1:111122223333:function:cogvault-migration"
)

// migrationWorld is a source and a target pool in one fake whose Lambda
// endpoint runs the real function (capture.Handler with the migration
// handler), configured from the environment 'migrate start' printed.
type migrationWorld struct {
	srv    *cognitotest.Server
	api    *cip.Client
	source string
	// repo is the migration's repository (unsigned, initialised): start
	// passes it to the function (COGVAULT_REPO), which records there, and
	// finish reads those records as the proof of who migrated.
	repo string
	// noRepo leaves COGVAULT_REPO out of the function's environment (start
	// needs --repo, but an operator may not pass it on): the function then
	// records nowhere.
	noRepo bool
	mu     sync.Mutex
	h      *capture.Handler
}

func newMigrationWorld(t *testing.T, usernameAttrs ...string) *migrationWorld {
	t.Helper()
	w := &migrationWorld{}
	lambda := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		h := w.h
		w.mu.Unlock()
		if h == nil {
			rw.Header().Set("X-Amz-Function-Error", "Unhandled")
			_, _ = rw.Write([]byte(`{"errorMessage":"not configured"}`))
			return
		}
		out, err := h.Handle(r.Context(), body)
		if err != nil {
			out, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
			rw.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		_, _ = rw.Write(out)
	}))
	t.Cleanup(lambda.Close)
	w.srv = cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	w.api = newFakeClient(t, w.srv)
	src, err := w.srv.Populate(cognitotest.PopulateOptions{PoolName: "old", Users: 40, Groups: 4, Seed: 5, Password: migratePW, UsernameAttributes: usernameAttrs})
	if err != nil {
		t.Fatal(err)
	}
	w.source = src.PoolID
	w.repo = t.TempDir() + "/repo"
	store, err := storage.NewDir(w.repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Init(context.Background(), store, repo.Config{}, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// configure builds the function from start's environment, as the Lambda
// runtime would from its variables.
func (w *migrationWorld) configure(t *testing.T, target string, env map[string]string) {
	t.Helper()
	for _, k := range []string{"COGVAULT_MIGRATION_SOURCE_POOL_ID", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID"} {
		if env[k] == "" {
			t.Fatalf("start printed no %s: %v", k, env)
		}
	}
	e, ok, err := migration.FromEnv(func(k string) string { return env[k] }, "us-east-1")
	if err != nil || !ok {
		t.Fatalf("the environment start printed is refused: %v", err)
	}
	cfg := migration.Config{SourcePoolID: e.SourcePoolID, SourceClientID: e.SourceClientID, Source: w.api,
		LegacySubAttribute: e.LegacySubAttribute, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	dir := env["COGVAULT_REPO"]
	if dir == "" {
		dir = t.TempDir() // the function records nowhere finish looks
	}
	store, err := storage.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(store)
	if env["COGVAULT_REPO"] != "" {
		if r, _, err = repo.Open(context.Background(), store, repo.OpenOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg.Records, cfg.Target = r, w.api
	}
	mig, err := migration.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := capture.New(capture.Config{PoolID: target, Region: "us-east-1", Repo: r, Cognito: w.api,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Migration: mig})
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.h = h
	w.mu.Unlock()
}

func (w *migrationWorld) args(more ...string) []string {
	return append([]string{"--region", "us-east-1", "--endpoint-url", w.srv.URL}, more...)
}

// users lists a pool through the API (the oracle: never cogvault's snapshot).
func (w *migrationWorld) users(t *testing.T, pool string) []types.UserType {
	t.Helper()
	var out []types.UserType
	p := cip.NewListUsersPaginator(w.api, &cip.ListUsersInput{UserPoolId: &pool})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Users...)
	}
	return out
}

func (w *migrationWorld) groupsOf(t *testing.T, pool, user string) []string {
	t.Helper()
	out, err := w.api.AdminListGroupsForUser(context.Background(), &cip.AdminListGroupsForUserInput{UserPoolId: &pool, Username: &user})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range out.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	return names
}

// targetLike creates an existing target whose users sign in as the
// source's do (case-insensitive usernames) with the source's custom
// attributes, and settings that start must carry unchanged.
func (w *migrationWorld) targetLike(t *testing.T, caseSensitive bool) string {
	t.Helper()
	ctx := context.Background()
	d, err := w.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &w.source})
	if err != nil {
		t.Fatal(err)
	}
	var schema []types.SchemaAttributeType
	for _, a := range d.UserPool.SchemaAttributes {
		if name, ok := strings.CutPrefix(aws.ToString(a.Name), "custom:"); ok {
			a.Name = aws.String(name)
			schema = append(schema, a)
		}
	}
	out, err := w.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("new"), Schema: schema,
		UsernameConfiguration:    &types.UsernameConfigurationType{CaseSensitive: aws.Bool(caseSensitive)},
		AutoVerifiedAttributes:   []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail, types.VerifiedAttributeTypePhoneNumber},
		EmailVerificationSubject: aws.String("Your code"),
		DeletionProtection:       types.DeletionProtectionTypeActive,
		UserPoolTags:             map[string]string{"team": "identity"},
		Policies:                 &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(8), RequireNumbers: true, RequireSymbols: true, RequireUppercase: true, RequireLowercase: true}},
		LambdaConfig:             &types.LambdaConfigType{PreAuthentication: aws.String("arn:aws:lambda:us-east-1:111122223333:function:audit")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPool.Id)
}

func (w *migrationWorld) signIn(client, user, pw string) error {
	_, err := w.api.InitiateAuth(context.Background(), &cip.InitiateAuthInput{ClientId: &client, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": pw}})
	return err
}

func (w *migrationWorld) appClient(t *testing.T, pool string) string {
	t.Helper()
	out, err := w.api.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPoolClient.ClientId)
}

// TestMigrateStartStatusFinish runs a whole migration into an existing
// target: start, a few sign-ins through the real function, status, finish;
// then checks the target against the source's own listing.
func TestMigrateStartStatusFinish(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target := w.targetLike(t, false)
	src := w.users(t, w.source)
	// A user who was in the target before the migration, with the sign-in
	// value of a source user who has groups: it must never get them.
	var squatter types.UserType
	for _, u := range src {
		if len(w.groupsOf(t, w.source, aws.ToString(u.Username))) > 0 {
			squatter = u
			break
		}
	}
	if _, err := w.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &target, Username: squatter.Username, MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	before, err := w.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &target})
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := run(t, ctx, w.args("migrate", "start", "--from", w.source, "--to", target, "--function-arn", fnARN, "--repo", w.repo, "--output", "json")...)
	if code != 0 {
		t.Fatalf("migrate start: exit %d\n%s\n%s", code, out, errOut)
	}
	var started struct {
		TargetPoolID string            `json:"targetPoolId"`
		Clients      map[string]string `json:"clients"`
		Function     struct {
			Environment map[string]string `json:"environment"`
		} `json:"function"`
	}
	if err := json.Unmarshal([]byte(out), &started); err != nil || started.TargetPoolID != target || started.Clients == nil {
		t.Fatalf("start's JSON: %v\n%s", err, out)
	}
	assertOnlyTriggersChanged(t, before.UserPool, w.describe(t, target))
	assertEnvironmentStartsTheFunction(t, started.Function.Environment, target, false)
	w.configure(t, target, started.Function.Environment)

	// Sign in a few enabled, confirmed source users to the target.
	app := w.appClient(t, target)
	var moved []string
	for _, u := range src {
		name := aws.ToString(u.Username)
		if u.UserStatus != types.UserStatusTypeConfirmed || !u.Enabled || name == aws.ToString(squatter.Username) || len(moved) == 3 {
			continue
		}
		if len(moved) == 0 && len(w.groupsOf(t, w.source, name)) == 0 {
			continue // the first has groups, which only finish can give
		}
		if err := w.signIn(app, name, migratePW); err != nil {
			t.Fatalf("sign-in of a source user to the target: %v", err)
		}
		moved = append(moved, name)
	}
	if len(moved) < 3 {
		t.Fatalf("only %d users could sign in", len(moved))
	}
	if err := w.signIn(app, "no-such-user", migratePW); err == nil {
		t.Fatal("an unknown user signed in")
	}

	code, out, errOut = run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target, "--output", "json")...)
	var st struct {
		SourceUsers, Migrated, NotMigrated, PreExisting, RecentMigrated int
		FailedUnknown                                                   string
		ProjectedFinish                                                 *time.Time
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("migrate status: exit %d\n%s\n%s", code, out, errOut)
	}
	if st.SourceUsers != len(src) || st.Migrated != 3 || st.RecentMigrated != 3 || st.PreExisting != 1 || st.NotMigrated != len(src)-4 || st.FailedUnknown == "" || st.ProjectedFinish == nil {
		t.Errorf("status %+v; want %d source users, 3 migrated, 1 pre-existing", st, len(src))
	}

	dir := t.TempDir()
	code, out, errOut = run(t, ctx, w.args("migrate", "finish", "--from", w.source, "--to", target, "--mapping-file", dir+"/subs", "--state-dir", dir, "--repo", w.repo)...)
	if code != 0 && code != 3 {
		t.Fatalf("migrate finish: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out, "conflict") {
		t.Errorf("finish reports conflicts, though every target user is the migration's, the restore's or pre-existing:\n%s", out)
	}
	checkFinished(t, w, target, src, moved, squatter, dir+"/subs.json")
	if p := w.describe(t, target); p.LambdaConfig != nil && (p.LambdaConfig.UserMigration != nil || p.LambdaConfig.PostAuthentication != nil) {
		t.Errorf("finish left the triggers: %+v", p.LambdaConfig)
	}
	if strings.Contains(out+errOut, migratePW) {
		t.Error("a password was printed")
	}
}

func (w *migrationWorld) describe(t *testing.T, pool string) *types.UserPoolType {
	t.Helper()
	d, err := w.api.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	return d.UserPool
}

// assertOnlyTriggersChanged compares DescribeUserPool before and after
// start field by field: only the two triggers, the start tag and
// LastModifiedDate may differ.
func assertOnlyTriggersChanged(t *testing.T, before, after *types.UserPoolType) {
	t.Helper()
	if aws.ToString(after.LambdaConfig.UserMigration) != fnARN || aws.ToString(after.LambdaConfig.PostAuthentication) != fnARN {
		t.Errorf("triggers after start: %+v", after.LambdaConfig)
	}
	if _, ok := after.UserPoolTags["cogvault:migration-start"]; !ok {
		t.Error("no start tag")
	}
	a := *after
	a.LambdaConfig = &types.LambdaConfigType{}
	*a.LambdaConfig = *after.LambdaConfig
	a.LambdaConfig.UserMigration, a.LambdaConfig.PostAuthentication = before.LambdaConfig.UserMigration, before.LambdaConfig.PostAuthentication
	a.UserPoolTags = map[string]string{}
	for k, v := range after.UserPoolTags {
		if k != "cogvault:migration-start" {
			a.UserPoolTags[k] = v
		}
	}
	a.LastModifiedDate = before.LastModifiedDate
	bv, av := reflect.ValueOf(*before), reflect.ValueOf(a)
	for i := 0; i < bv.NumField(); i++ {
		if !bv.Type().Field(i).IsExported() {
			continue
		}
		if !reflect.DeepEqual(bv.Field(i).Interface(), av.Field(i).Interface()) {
			t.Errorf("start changed %s: %#v → %#v", bv.Type().Field(i).Name, bv.Field(i).Interface(), av.Field(i).Interface())
		}
	}
}

// checkFinished: every source user that can be restored is in the target
// with the source's attributes, enabled flag and groups; the migrated keep
// their password, the rest must reset it; the squatter got nothing; the
// mapping covers every migrated user.
func checkFinished(t *testing.T, w *migrationWorld, target string, src []types.UserType, moved []string, squatter types.UserType, mappingFile string) {
	t.Helper()
	byName := map[string]types.UserType{}
	for _, u := range w.users(t, target) {
		byName[strings.ToLower(aws.ToString(u.Username))] = u
	}
	isMoved := map[string]bool{}
	for _, m := range moved {
		isMoved[m] = true
	}
	app := w.appClient(t, target)
	mapped := 0
	for _, s := range src {
		name := aws.ToString(s.Username)
		if s.UserStatus == types.UserStatusTypeExternalProvider {
			continue // comes back at its next federated sign-in (restore report)
		}
		u, ok := byName[strings.ToLower(name)]
		if !ok {
			t.Errorf("source user %s is not in the target", name)
			continue
		}
		if name == aws.ToString(squatter.Username) {
			if g := w.groupsOf(t, target, aws.ToString(u.Username)); len(g) != 0 {
				t.Errorf("a target user that existed before the migration got groups %v", g)
			}
			continue
		}
		mapped++
		if u.Enabled != s.Enabled {
			t.Errorf("%s: enabled %v, source %v", name, u.Enabled, s.Enabled)
		}
		for _, a := range s.Attributes {
			if n := aws.ToString(a.Name); n != "sub" && n != "identities" {
				if v, _ := attrOf(u.Attributes, n); v != aws.ToString(a.Value) {
					t.Errorf("%s: attribute %s differs from the source's", name, n)
				}
			}
		}
		if got, want := w.groupsOf(t, target, aws.ToString(u.Username)), w.groupsOf(t, w.source, name); !sameStrings(got, want) {
			t.Errorf("%s: groups %v, source %v", name, got, want)
		}
		switch {
		case isMoved[name]:
			if err := w.signIn(app, name, migratePW); err != nil {
				t.Errorf("migrated user %s cannot sign in with the old password: %v", name, err)
			}
		case s.UserStatus == types.UserStatusTypeConfirmed && u.UserStatus != types.UserStatusTypeResetRequired && u.UserStatus != types.UserStatusTypeConfirmed:
			t.Errorf("%s: status %s after finish", name, u.UserStatus)
		case s.UserStatus == types.UserStatusTypeConfirmed && s.Enabled:
			// Restored, not migrated: the old password is not theirs here
			// (the trigger is gone); they reset it.
			if err := w.signIn(app, name, migratePW); err == nil {
				t.Errorf("restored user %s signed in with the source password", name)
			}
		}
	}
	b, err := os.ReadFile(mappingFile)
	var maps []struct{ OldSub, NewSub string }
	if err != nil || json.Unmarshal(b, &maps) != nil {
		t.Fatalf("mapping: %v", err)
	}
	if fi, _ := os.Stat(mappingFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("mapping mode %v", fi.Mode().Perm())
	}
	if len(maps) != mapped {
		t.Errorf("mapping has %d users, want %d (every user finish or a sign-in made)", len(maps), mapped)
	}
}

func attrOf(attrs []types.AttributeType, name string) (string, bool) {
	for _, a := range attrs {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value), true
		}
	}
	return "", false
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestMigrateStartRefusals: each refusal comes before any write (the target
// unchanged, no client created on the source) with exit 2 and a message
// naming what to fix.
func TestMigrateStartRefusals(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	noFlow := w.appClient(t, w.source) // ALLOW_USER_PASSWORD_AUTH only
	taken := w.targetLike(t, false)
	if _, err := w.api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: &taken,
		LambdaConfig: &types.LambdaConfigType{PostAuthentication: aws.String("arn:aws:lambda:us-east-1:111122223333:function:other")}}); err != nil {
		t.Fatal(err)
	}
	sensitive := w.targetLike(t, true)
	byEmail, err := w.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("by-email"),
		UsernameAttributes:    []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	good := w.targetLike(t, false)
	secret, err := w.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &w.source, ClientName: aws.String("backend"), GenerateSecret: true,
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"slot taken", []string{"--to", taken}, "PostAuthentication trigger of " + taken + " is already arn:aws:lambda:us-east-1:111122223333:function:other"},
		{"client without the flow", []string{"--to", good, "--source-client-id", noFlow}, "does not allow ALLOW_ADMIN_USER_PASSWORD_AUTH"},
		{"no such client", []string{"--to", good, "--source-client-id", "nosuchclient"}, "has no app client nosuchclient"},
		{"client with a secret", []string{"--to", good, "--source-client-id", aws.ToString(secret.UserPoolClient.ClientId)}, "has a client secret"},
		{"username attributes", []string{"--to", aws.ToString(byEmail.UserPool.Id)}, "users sign in with a username in the source and email in the target"},
		{"case sensitivity", []string{"--to", sensitive}, "usernames are case-insensitive in the source and case-sensitive in the target"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := w.srv.OpStats("UpdateUserPool").Calls + w.srv.OpStats("CreateUserPoolClient").Calls + w.srv.OpStats("CreateGroup").Calls
			code, out, errOut := run(t, ctx, w.args(append([]string{"migrate", "start", "--repo", t.TempDir() + "/mrepo", "--from", w.source, "--function-arn", fnARN}, c.args...)...)...)
			if code != 2 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want 2 and %q\n%s\n%s", code, c.want, out, errOut)
			}
			if after := w.srv.OpStats("UpdateUserPool").Calls + w.srv.OpStats("CreateUserPoolClient").Calls + w.srv.OpStats("CreateGroup").Calls; after != before {
				t.Errorf("a refused start wrote (%d writes)", after-before)
			}
		})
	}
	// finish and status refuse a target start never ran on.
	for _, cmd := range [][]string{{"finish", "--state-dir", t.TempDir(), "--no-records"}, {"status"}} {
		code, out, errOut := run(t, ctx, w.args(append([]string{"migrate"}, append(cmd, "--from", w.source, "--to", good)...)...)...)
		if code != 2 || !strings.Contains(errOut, "'cogvault migrate start --to "+good+"' has not run on it") {
			t.Errorf("%s into a target never started: exit %d\n%s\n%s", cmd, code, out, errOut)
		}
	}
	// --create-pool carries the source's triggers: a source whose
	// UserMigration slot holds another function is refused before the pool
	// is created.
	if err := w.srv.SetLambdaConfig(w.source, map[string]string{"UserMigration": "arn:aws:lambda:us-east-1:111122223333:function:older"}); err != nil {
		t.Fatal(err)
	}
	pools := w.srv.OpStats("CreateUserPool").Calls
	code, out, errOut := run(t, ctx, w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--create-pool", "new", "--function-arn", fnARN)...)
	if n := w.srv.OpStats("CreateUserPool").Calls - pools; code != 2 || !strings.Contains(errOut, "UserMigration trigger of the pool to be created") || n != 0 {
		t.Errorf("create-pool from a source with a UserMigration trigger: exit %d, %d pools created\n%s\n%s", code, n, out, errOut)
	}
}

// TestMigrateStartCreatePool: --dry-run creates nothing; the real run
// creates the pool from the source's configuration, the groups, the source
// client cogvault-migration (reused by a second run) and both triggers.
func TestMigrateStartCreatePool(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	// The populated pool's Google provider has a secret no read returns.
	mapFile := t.TempDir() + "/map.json"
	if err := os.WriteFile(mapFile, []byte(`{"providerSecrets": {"Google": {"client_secret": "s"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, ctx, w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--create-pool", "new", "--function-arn", fnARN, "--dry-run")...)
	if code != 3 || !strings.Contains(errOut, "not carried") {
		t.Errorf("without a map: exit %d, want 3 (the provider is not carried)\n%s", code, errOut)
	}
	args := w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--create-pool", "new", "--function-arn", fnARN, "--map", mapFile)
	code, out, errOut := run(t, ctx, append(args, "--dry-run")...)
	if code != 0 || !strings.Contains(out, "dry run") || w.srv.OpStats("CreateUserPool").Calls+w.srv.OpStats("CreateUserPoolClient").Calls != 0 {
		t.Fatalf("dry run: exit %d, %d pools created\n%s\n%s", code, w.srv.OpStats("CreateUserPool").Calls, out, errOut)
	}
	code, out, errOut = run(t, ctx, append(args, "--output", "json")...)
	var res struct {
		TargetPoolID string `json:"targetPoolId"`
		Clients      map[string]string
		Function     struct{ Environment map[string]string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("start --create-pool: exit %d\n%s\n%s", code, out, errOut)
	}
	p := w.describe(t, res.TargetPoolID)
	if aws.ToString(p.LambdaConfig.UserMigration) != fnARN || aws.ToString(p.LambdaConfig.PostAuthentication) != fnARN || len(res.Clients) != 1 {
		t.Errorf("created target: triggers %+v, clients %v", p.LambdaConfig, res.Clients)
	}
	groups, err := w.api.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: &res.TargetPoolID})
	if err != nil || len(groups.Groups) != 4 {
		t.Errorf("target groups: %d (%v), want the source's 4", len(groups.Groups), err)
	}
	env := res.Function.Environment
	cl, err := w.api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &w.source, ClientId: aws.String(env["COGVAULT_MIGRATION_SOURCE_CLIENT_ID"])})
	if err != nil || aws.ToString(cl.UserPoolClient.ClientName) != "cogvault-migration" || env["COGVAULT_MIGRATION_SOURCE_POOL_ID"] != w.source {
		t.Fatalf("the function's source client: %v %+v", err, env)
	}
	// Again, into the pool it made: the client is reused, not duplicated.
	code, out, errOut = run(t, ctx, w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--to", res.TargetPoolID, "--function-arn", fnARN, "--output", "json")...)
	if code != 0 || !strings.Contains(out, env["COGVAULT_MIGRATION_SOURCE_CLIENT_ID"]) || w.srv.OpStats("CreateUserPoolClient").Calls != 2 {
		t.Errorf("second start: exit %d, %d clients created (want 2: the target's app client and cogvault-migration)\n%s\n%s", code, w.srv.OpStats("CreateUserPoolClient").Calls, out, errOut)
	}
}

// startedMigration: an existing target, start run, one user (with groups)
// migrated at sign-in. It returns the target, the source's users and the
// migrated user.
func startedMigration(t *testing.T, w *migrationWorld) (target string, src []types.UserType, moved string) {
	t.Helper()
	ctx := context.Background()
	target = w.targetLike(t, false)
	args := []string{"migrate", "start", "--from", w.source, "--to", target, "--function-arn", fnARN, "--output", "json", "--repo", w.repo}
	code, out, errOut := run(t, ctx, w.args(args...)...)
	var started struct {
		Function struct{ Environment map[string]string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &started) != nil {
		t.Fatalf("migrate start: exit %d\n%s\n%s", code, out, errOut)
	}
	if w.noRepo {
		// An operator who left the repository out of the function's
		// environment: it then records nowhere.
		delete(started.Function.Environment, "COGVAULT_REPO")
	}
	w.configure(t, target, started.Function.Environment)
	src = w.users(t, w.source)
	app := w.appClient(t, target)
	for _, u := range src {
		name := aws.ToString(u.Username)
		if u.UserStatus == types.UserStatusTypeConfirmed && u.Enabled && len(w.groupsOf(t, w.source, name)) > 0 {
			if err := w.signIn(app, name, migratePW); err != nil {
				t.Fatal(err)
			}
			return target, src, name
		}
	}
	t.Fatal("no confirmed, enabled source user with groups")
	return
}

// TestMigrateFinishResumes: a finish that fails half-way (AdminAddUserToGroup
// denied) changes no trigger; the same command run again finishes the job.
// A dry run before changes nothing.
func TestMigrateFinishResumes(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, src, moved := startedMigration(t, w)
	dir := t.TempDir()
	finish := w.args("migrate", "finish", "--from", w.source, "--to", target, "--mapping-file", dir+"/subs", "--state-dir", dir, "--repo", w.repo)

	w.srv.ResetStats()
	code, out, errOut := run(t, ctx, append(finish, "--dry-run")...)
	if code != 0 && code != 3 || !strings.Contains(out, "dry run") {
		t.Fatalf("finish --dry-run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, op := range []string{"AdminCreateUser", "AdminAddUserToGroup", "UpdateUserPool", "CreateGroup"} {
		if n := w.srv.OpStats(op).Calls; n != 0 {
			t.Errorf("finish --dry-run called %s %d times", op, n)
		}
	}
	if _, err := os.Stat(dir + "/subs.json"); err == nil {
		t.Error("finish --dry-run wrote the mapping")
	}

	allow := w.srv.DenyActions("AdminAddUserToGroup")
	code, out, errOut = run(t, ctx, finish...)
	allow()
	if code != 1 || !strings.Contains(errOut, "run the same command again") {
		t.Fatalf("finish with AdminAddUserToGroup denied: exit %d, want 1 and how to resume\n%s\n%s", code, out, errOut)
	}
	if p := w.describe(t, target); aws.ToString(p.LambdaConfig.UserMigration) != fnARN {
		t.Errorf("a failed finish removed the triggers: %+v", p.LambdaConfig)
	}
	code, out, errOut = run(t, ctx, append(finish, "--output", "json")...)
	if code != 0 && code != 3 {
		t.Fatalf("finish again: exit %d\n%s\n%s", code, out, errOut)
	}
	var res struct {
		Finish struct{ SignedIn int }
	}
	if json.Unmarshal([]byte(out), &res) != nil || res.Finish.SignedIn != 1 || !strings.Contains(errOut, "resuming the interrupted finish") {
		t.Errorf("the second finish did not resume the first (signed in %d, want 1: the one who signed in)\n%s\n%s", res.Finish.SignedIn, out, errOut)
	}
	checkFinished(t, w, target, src, []string{moved}, types.UserType{Username: aws.String("")}, dir+"/subs.json")
}

// TestMigrateStatusCountsFailures: with --repo, status counts the refused
// migrations the function recorded under migrations/<target>/failed/, by
// reason; a wrong password creates no one and counts nowhere.
func TestMigrateStatusCountsFailures(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, src, _ := startedMigration(t, w)
	if err := w.signIn(w.appClient(t, target), aws.ToString(src[0].Username), "Wrong-pass-43"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	repoDir := t.TempDir()
	store, err := storage.NewDir(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	// What the function writes (the shared contract): no names, a reason.
	for i, reason := range []string{"challenge", "challenge", "disabled", "source-error"} {
		key := fmt.Sprintf("migrations/%s/failed/%019d-%s.json", target, 1764490000000000000+i, reason)
		if err := store.Put(ctx, key, strings.NewReader(`{"at":"2026-11-30T08:00:00Z","reason":"`+reason+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target, "--repo", repoDir, "--output", "json")...)
	var st struct {
		Migrated, NotMigrated int
		Failed                map[string]int
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	if st.Migrated != 1 || st.NotMigrated != len(src)-1 || !reflect.DeepEqual(st.Failed, map[string]int{"challenge": 2, "disabled": 1, "source-error": 1}) {
		t.Errorf("status %+v", st)
	}
	code, out, _ = run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target)...)
	if code != 0 || !strings.Contains(out, "unknown: give --repo") || !strings.Contains(out, "migrated     1 of") {
		t.Errorf("status without --repo: exit %d\n%s", code, out)
	}

	// A target trigger besides the migration's that acts on restored users
	// refuses finish before any write, unless --allow-triggers.
	if err := w.srv.SetLambdaConfig(target, map[string]string{"UserMigration": fnARN, "PostAuthentication": fnARN, "PreSignUp": "arn:aws:lambda:us-east-1:111122223333:function:gate"}); err != nil {
		t.Fatal(err)
	}
	w.srv.ResetStats()
	dir := t.TempDir()
	code, out, errOut = run(t, ctx, w.args("migrate", "finish", "--from", w.source, "--to", target, "--state-dir", dir, "--repo", dir+"/repo")...)
	if _, err := os.Stat(dir + "/repo"); err == nil {
		t.Error("a refused finish backed up into --repo")
	}
	if code != 2 || !strings.Contains(errOut, "PreSignUp") || !strings.Contains(errOut, "--allow-triggers") || w.srv.OpStats("AdminCreateUser").Calls+w.srv.OpStats("UpdateUserPool").Calls != 0 {
		t.Errorf("finish into a target with a PreSignUp trigger: exit %d, want 2 before any write\n%s\n%s", code, out, errOut)
	}
}

// TestMigrateEmailSignInPool: in a pool that signs in with email, the
// target's usernames are opaque: users sign in with their email, and status
// and finish match them to the source by it.
func TestMigrateEmailSignInPool(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t, "email")
	mapFile := t.TempDir() + "/map.json"
	if err := os.WriteFile(mapFile, []byte(`{"providerSecrets": {"Google": {"client_secret": "s"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, ctx, w.args("migrate", "start", "--from", w.source, "--create-pool", "new", "--function-arn", fnARN, "--map", mapFile, "--repo", w.repo, "--output", "json")...)
	var started struct {
		TargetPoolID string `json:"targetPoolId"`
		Function     struct{ Environment map[string]string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &started) != nil {
		t.Fatalf("start: exit %d\n%s\n%s", code, out, errOut)
	}
	target := started.TargetPoolID
	w.configure(t, target, started.Function.Environment)
	app := w.appClient(t, target)
	src := w.users(t, w.source)
	var email string
	for _, u := range src {
		e, ok := attrOf(u.Attributes, "email")
		if ok && u.UserStatus == types.UserStatusTypeConfirmed && u.Enabled && len(w.groupsOf(t, w.source, aws.ToString(u.Username))) > 0 {
			email = e
			break
		}
	}
	if err := w.signIn(app, strings.ToUpper(email[:1])+email[1:], migratePW); err != nil {
		t.Fatalf("sign-in with the email: %v", err)
	}
	code, out, _ = run(t, ctx, w.args("migrate", "status", "--from", w.source, "--to", target, "--output", "json")...)
	var st struct{ Migrated int }
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Migrated != 1 {
		t.Fatalf("status: exit %d %s", code, out)
	}
	dir := t.TempDir()
	code, out, errOut = run(t, ctx, w.args("migrate", "finish", "--from", w.source, "--to", target, "--mapping-file", dir+"/subs", "--state-dir", dir, "--keep-trigger", "--allow-triggers", "--repo", w.repo)...)
	if code != 0 && code != 3 {
		t.Fatalf("finish: exit %d\n%s\n%s", code, out, errOut)
	}
	if p := w.describe(t, target); aws.ToString(p.LambdaConfig.UserMigration) != fnARN || aws.ToString(p.LambdaConfig.PostAuthentication) != fnARN {
		t.Errorf("finish --keep-trigger removed a trigger: %+v", p.LambdaConfig)
	}
	byEmail := map[string]types.UserType{}
	for _, u := range w.users(t, target) {
		e, _ := attrOf(u.Attributes, "email")
		byEmail[strings.ToLower(e)] = u
	}
	for _, s := range src {
		e, ok := attrOf(s.Attributes, "email")
		if !ok || s.UserStatus == types.UserStatusTypeExternalProvider {
			continue
		}
		u, ok := byEmail[strings.ToLower(e)]
		if !ok {
			t.Errorf("a source user with an email is not in the target")
			continue
		}
		if got, want := w.groupsOf(t, target, aws.ToString(u.Username)), w.groupsOf(t, w.source, aws.ToString(s.Username)); !sameStrings(got, want) {
			t.Errorf("groups %v, source %v", got, want)
		}
	}
	if err := w.signIn(app, email, migratePW); err != nil {
		t.Errorf("the migrated user cannot sign in after finish: %v", err)
	}
}

// assertEnvironmentStartsTheFunction: the environment start prints is all
// the function needs (review finding: it lacked COGVAULT_POOL_ID and, without
// --repo, COGVAULT_REPO, so the Lambda refused to start): both of the
// function's readers accept it, for the target's pool and a signed
// repository.
func assertEnvironmentStartsTheFunction(t *testing.T, env map[string]string, target string, signed bool) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	ce, err := capture.FromEnv(getenv)
	if err != nil || ce.PoolID != target {
		t.Errorf("start's environment does not start the function: %v (pool %q, want %s)", err, ce.PoolID, target)
	}
	if _, ok, err := migration.FromEnv(getenv, "us-east-1"); !ok || err != nil {
		t.Errorf("start's environment configures no migration: ok %v, %v", ok, err)
	}
	if _, err := sign.ParsePublicKey(env["COGVAULT_REPO_KEY"]); signed && err != nil || !signed && env["COGVAULT_REPO_KEY"] != "" {
		t.Errorf("COGVAULT_REPO_KEY %q for a signed (%v) repository: %v", env["COGVAULT_REPO_KEY"], signed, err)
	}
}

// start needs the repository the function records in; without --repo it
// refuses before any write. It names the target's app clients on which
// users sign in with SRP, where the UserMigration trigger never runs.
func TestMigrateStartNeedsARepositoryAndNamesSRPClients(t *testing.T) {
	isolateAWS(t)
	w := newMigrationWorld(t)
	ctx := context.Background()
	target := w.targetLike(t, false)
	code, _, errOut := run(t, ctx, w.args("migrate", "start", "--from", w.source, "--to", target, "--function-arn", fnARN)...)
	if code != 2 || !strings.Contains(errOut, "--repo is required") {
		t.Fatalf("start without --repo: exit %d, want 2 naming --repo\n%s", code, errOut)
	}
	if n := w.srv.OpStats("UpdateUserPool").Calls; n != 0 {
		t.Fatalf("a refused start called UpdateUserPool %d times", n)
	}
	srp, err := w.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("amplify-web"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserSrpAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, ctx, w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--to", target, "--function-arn", fnARN, "--output", "json")...)
	if code != 0 || !strings.Contains(errOut, aws.ToString(srp.UserPoolClient.ClientId)) || !strings.Contains(errOut, "ALLOW_USER_PASSWORD_AUTH") {
		t.Fatalf("start with an SRP-only client: exit %d, want 0 and a notice naming the client\n%s\n%s", code, errOut, out)
	}
	// A repository start initialised is signed: the function gets its key.
	var started struct {
		Function struct{ Environment map[string]string }
	}
	if err := json.Unmarshal([]byte(out), &started); err != nil {
		t.Fatal(err)
	}
	assertEnvironmentStartsTheFunction(t, started.Function.Environment, target, true)
}
