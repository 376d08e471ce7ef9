package migration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/migration"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
)

var ctx = context.Background()

const (
	sourcePW = "Source-pass-42"
	wrongPW  = "Wrong-pass-43"
	legacy   = "custom:legacy_sub"
)

// world is a source and a target pool in one fake; the target's
// UserMigration trigger is a Lambda Invoke endpoint that runs
// capture.Handler.Handle, the Lambda binary's entry point.
type world struct {
	srv                    *cognitotest.Server
	api                    *cip.Client
	source, target         string
	sourceClient, tgClient string
	logs                   *bytes.Buffer
	mu                     sync.Mutex
	answers                []string // every body and error the function returned
	repo                   *repo.Repo
	store                  *countingStore // the repository's S3 store (gofakes3), counted
}

// pools says how the source and the target sign users in: nil is a plain
// username with email, phone and preferred_username as aliases; ["email"]
// signs in by email (the username is then generated).
type pools struct{ source, target []string }

func newWorld(t *testing.T) *world { return newWorldOf(t, pools{}) }

func newWorldOf(t *testing.T, kind pools) *world {
	t.Helper()
	w := &world{logs: &bytes.Buffer{}}
	var h *capture.Handler
	lambda := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, err := h.Handle(r.Context(), body)
		if err != nil {
			// What the Lambda runtime sends for a returned error.
			out, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
			rw.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		w.mu.Lock()
		w.answers = append(w.answers, string(out))
		w.mu.Unlock()
		_, _ = rw.Write(out)
	}))
	t.Cleanup(lambda.Close)
	w.srv = cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	w.api = client(t, w.srv.URL)
	src, err := w.srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: 60, Groups: 6, Seed: 3, Password: sourcePW,
		UsernameAttributes: kind.source})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := w.srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Users: 0, Seed: 4, UsernameAttributes: kind.target})
	if err != nil {
		t.Fatal(err)
	}
	w.source, w.target = src.PoolID, tgt.PoolID
	w.sourceClient = w.newClient(t, w.source, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth)
	w.tgClient = w.newClient(t, w.target, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:cogvault"
	if err := w.srv.SetLambdaConfig(w.target, map[string]string{cognitotest.TriggerUserMigration: fn, cognitotest.TriggerPostAuthentication: fn}); err != nil {
		t.Fatal(err)
	}
	w.repo, w.store = signedRepo(t)
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mig, err := migration.New(migration.Config{SourcePoolID: w.source, SourceClientID: w.sourceClient, Source: w.api,
		LegacySubAttribute: legacy, Log: log, Records: w.repo, Target: w.api})
	if err != nil {
		t.Fatal(err)
	}
	h, err = capture.New(capture.Config{PoolID: w.target, Region: "us-east-1", Repo: w.repo, Cognito: w.api, Log: log, Migration: mig})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func client(t *testing.T, url string) *cip.Client {
	t.Helper()
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: url, Rates: rates, MaxBackoff: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	return cip.NewFromConfig(cfg)
}

func (w *world) newClient(t *testing.T, pool string, flow types.ExplicitAuthFlowsType) string {
	t.Helper()
	out, err := w.api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("m"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{flow}, PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesLegacy})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPoolClient.ClientId)
}

func (w *world) signIn(name, pw string) (*cip.InitiateAuthOutput, error) {
	return w.api.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: &w.tgClient, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": pw}})
}

// sourceUsers are the source's users in a status, enabled or not.
func (w *world) sourceUsers(t *testing.T, status types.UserStatusType, enabled bool) []types.UserType {
	t.Helper()
	var out []types.UserType
	p := cip.NewListUsersPaginator(w.api, &cip.ListUsersInput{UserPoolId: &w.source})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			if u.UserStatus == status && u.Enabled == enabled {
				out = append(out, u)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s source user (enabled %v)", status, enabled)
	}
	return out
}

func (w *world) get(pool, name string) (*cip.AdminGetUserOutput, error) {
	return w.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &name})
}

func attrMap(as []types.AttributeType) map[string]string {
	m := map[string]string{}
	for _, a := range as {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

// want is the oracle: the source's AdminGetUser minus sub and identities,
// with the old sub in custom:legacy_sub.
func (w *world) want(t *testing.T, name string) (map[string]string, string) {
	t.Helper()
	u, err := w.get(w.source, name)
	if err != nil {
		t.Fatal(err)
	}
	m := attrMap(u.UserAttributes)
	sub := m["sub"]
	delete(m, "sub")
	delete(m, "identities")
	m[legacy] = sub
	return m, sub
}

func TestSignInMigratesWithTheSourcePassword(t *testing.T) {
	w := newWorld(t)
	users := w.sourceUsers(t, types.UserStatusTypeConfirmed, true)
	for _, u := range users {
		name := aws.ToString(u.Username)
		want, oldSub := w.want(t, name)
		out, err := w.signIn(name, sourcePW)
		if err != nil || out.AuthenticationResult == nil {
			t.Fatalf("sign-in with the source password: %v", err)
		}
		got, err := w.get(w.target, name)
		if err != nil {
			t.Fatal(err)
		}
		m := attrMap(got.UserAttributes)
		newSub := m["sub"]
		delete(m, "sub")
		if got.UserStatus != types.UserStatusTypeConfirmed || newSub == "" || newSub == oldSub {
			t.Errorf("target user: status %s, new sub equals old: %v", got.UserStatus, newSub == oldSub)
		}
		if diff := mapDiff(want, m); diff != "" {
			t.Errorf("attributes differ from the source's: %s", diff)
		}
		if _, err := w.signIn(name, sourcePW); err != nil {
			t.Errorf("second sign-in, now a target user: %v", err)
		}
	}
	if n := w.srv.MessagesSent(); n != 0 {
		t.Errorf("SUPPRESS, yet %d messages sent", n)
	}
}

// mapDiff names the attributes that differ, never their values.
func mapDiff(want, got map[string]string) string {
	var d []string
	for k, v := range want {
		if got[k] != v {
			d = append(d, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "+"+k)
		}
	}
	return strings.Join(d, ", ")
}

func errMessage(err error) string {
	var m interface{ ErrorMessage() string }
	if errors.As(err, &m) {
		return m.ErrorMessage()
	}
	return ""
}

func isCode(err error, code string) bool {
	var c interface{ ErrorCode() string }
	return errors.As(err, &c) && c.ErrorCode() == code
}

func TestRefusedSignInCreatesNoOne(t *testing.T) {
	w := newWorld(t)
	confirmed := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, true)[0].Username)
	disabled := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, false)[0].Username)
	for _, c := range []struct{ what, name, pw string }{
		{"wrong password", confirmed, wrongPW},
		{"unknown user", "nobody-at-all", sourcePW},
		{"disabled source user", disabled, sourcePW},
	} {
		_, err := w.signIn(c.name, c.pw)
		if !isCode(err, "UserLambdaValidationException") || errMessage(err) != "UserMigration failed with error incorrect username or password." {
			t.Errorf("%s: %v, want the function's generic refusal", c.what, err)
		}
		if _, err := w.get(w.target, c.name); !isCode(err, "UserNotFoundException") {
			t.Errorf("%s: the target has the user (%v)", c.what, err)
		}
	}
}

func TestForgotPasswordCreatesAResetRequiredUser(t *testing.T) {
	w := newWorld(t)
	var name string
	for _, u := range w.sourceUsers(t, types.UserStatusTypeConfirmed, true) {
		if m := attrMap(u.Attributes); m["email_verified"] == "true" || m["phone_number_verified"] == "true" {
			name = aws.ToString(u.Username)
			break
		}
	}
	want, _ := w.want(t, name)
	if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: &name}); err != nil {
		t.Fatalf("forgot password: %v", err)
	}
	got, err := w.get(w.target, name)
	if err != nil {
		t.Fatal(err)
	}
	m := attrMap(got.UserAttributes)
	delete(m, "sub")
	if got.UserStatus != types.UserStatusTypeResetRequired {
		t.Errorf("status %s, want RESET_REQUIRED", got.UserStatus)
	}
	if diff := mapDiff(want, m); diff != "" {
		t.Errorf("attributes differ from the source's: %s", diff)
	}
	codes := 0
	for _, msg := range w.srv.Outbox() {
		if msg.Pool == w.target && msg.Username == name && msg.Kind == "forgot-password" && msg.Code != "" {
			codes++
		}
	}
	if codes != 1 {
		t.Errorf("%d codes in the outbox, want 1", codes)
	}
}

func TestForgotPasswordRefusesAnUnrecoverableUser(t *testing.T) {
	w := newWorld(t)
	name := "no-contact"
	if _, err := w.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &w.source, Username: &name,
		MessageAction: types.MessageActionTypeSuppress, UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String("unverified@example.com")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: &name}); !isCode(err, "UserLambdaValidationException") {
		t.Errorf("forgot password without a verified email or phone: %v", err)
	}
	if _, err := w.get(w.target, name); !isCode(err, "UserNotFoundException") {
		t.Errorf("the target has the user (%v)", err)
	}
}

func TestTemporaryPasswordUserIsRefused(t *testing.T) {
	w := newWorld(t)
	name := "temp-user"
	if _, err := w.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &w.source, Username: &name,
		TemporaryPassword: aws.String(sourcePW), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.signIn(name, sourcePW); !isCode(err, "UserLambdaValidationException") ||
		!strings.Contains(err.Error(), "forgot password") {
		t.Errorf("FORCE_CHANGE_PASSWORD source user: %v", err)
	}
	if _, err := w.get(w.target, name); !isCode(err, "UserNotFoundException") {
		t.Errorf("the target has the user (%v)", err)
	}
}

// TestNothingSecretReachesLogsOrErrors runs every flow, then looks for the
// passwords, usernames and attribute values in the function's log lines and
// in its returned errors.
func TestNothingSecretReachesLogsOrErrors(t *testing.T) {
	w := newWorld(t)
	w.copyGroups(t, "")
	users := w.sourceUsers(t, types.UserStatusTypeConfirmed, true)
	secrets := []string{sourcePW, wrongPW}
	var clientErrs []string
	for i, u := range users[:3] {
		name := aws.ToString(u.Username)
		// The pending record's name is pseudonymous: logs carry no key.
		secrets = append(secrets, name, strings.TrimSuffix(strings.TrimPrefix(pendingName(name), "pending/"), ".json"))
		for k, v := range attrMap(u.Attributes) {
			if len(v) >= 4 && k != "email_verified" && k != "phone_number_verified" {
				secrets = append(secrets, v)
			}
		}
		if _, err := w.signIn(name, wrongPW); err != nil {
			clientErrs = append(clientErrs, err.Error())
		}
		switch i {
		case 0:
			_, _ = w.signIn(name, sourcePW)
		case 1:
			_, _ = w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: &name})
		}
	}
	if w.logs.Len() == 0 || len(w.answers) == 0 {
		t.Fatal("the function logged or answered nothing")
	}
	for _, line := range []string{"user migrated", "user migration refused", "migrated user's groups added"} {
		if !strings.Contains(w.logs.String(), line) {
			t.Errorf("no %q log line: the flow under test did not run", line)
		}
	}
	for _, u := range users[:1] {
		tu, err := w.get(w.target, aws.ToString(u.Username))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, attrMap(tu.UserAttributes)["sub"]) // the new sub, in no log line either
	}
	var refusals []string
	for _, a := range w.answers {
		if strings.Contains(a, "errorMessage") {
			refusals = append(refusals, a)
		}
	}
	for _, s := range secrets {
		if strings.Contains(w.logs.String(), s) {
			t.Errorf("a log line holds a secret or value of length %d", len(s))
		}
		for _, e := range append(refusals, clientErrs...) {
			if strings.Contains(e, s) {
				t.Errorf("a returned error holds a secret or value of length %d", len(s))
			}
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	if _, ok, err := migration.FromEnv(env(), "eu-west-1"); ok || err != nil {
		t.Errorf("unset: ok %v, %v", ok, err)
	}
	e, ok, err := migration.FromEnv(env("COGVAULT_MIGRATION_SOURCE_POOL_ID", "us-east-2_Abc123", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1"), "eu-west-1")
	if !ok || err != nil || e.SourceRegion != "us-east-2" {
		t.Errorf("region from the pool id: %+v %v %v", e, ok, err)
	}
	role := "arn:aws:iam::111122223333:role/path/cogvault-migration-source"
	e, ok, err = migration.FromEnv(env("COGVAULT_MIGRATION_SOURCE_POOL_ID", "us-east-2_Abc123", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1",
		"COGVAULT_MIGRATION_SOURCE_ROLE_ARN", role), "eu-west-1")
	if !ok || err != nil || e.SourceRoleARN != role {
		t.Errorf("source role: %+v %v %v", e, ok, err)
	}
	for _, c := range []struct {
		kv   []string
		want string
	}{
		{[]string{"COGVAULT_MIGRATION_SOURCE_POOL_ID", "us-east-2_Abc123", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1",
			"COGVAULT_MIGRATION_SOURCE_ROLE_ARN", "arn:aws:iam::1:role/r"}, "want the ARN of a role"},
		{[]string{"COGVAULT_MIGRATION_SOURCE_POOL_ID", "us-east-2_Abc123", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1",
			"COGVAULT_MIGRATION_SOURCE_ROLE_ARN", "arn:aws:iam::111122223333:user/u"}, "COGVAULT_MIGRATION_SOURCE_ROLE_ARN="},
		{[]string{"COGVAULT_MIGRATION_SOURCE_POOL_ID", "us-east-2_Abc123"}, "COGVAULT_MIGRATION_SOURCE_CLIENT_ID is not set"},
		{[]string{"COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1"}, "COGVAULT_MIGRATION_SOURCE_POOL_ID is not"},
		{[]string{"COGVAULT_MIGRATION_SOURCE_POOL_ID", "pool", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1"}, "want a user pool id"},
		{[]string{"COGVAULT_MIGRATION_SOURCE_POOL_ID", "us-east-2_Abc123", "COGVAULT_MIGRATION_SOURCE_CLIENT_ID", "c1",
			"COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE", "legacy_sub"}, "want a custom attribute"},
	} {
		if _, ok, err := migration.FromEnv(env(c.kv...), "eu-west-1"); ok || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: ok %v, %v; want %q", c.kv, ok, err, c.want)
		}
	}
}
