package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/iampolicy"
	"github.com/cogvault/cogvault/internal/lambdatest"
	"github.com/cogvault/cogvault/internal/ststest"
)

const e2eFunction = "arn:aws:lambda:us-east-1:123456789012:function:cogvault-migration"

// buildBootstrap builds this command as Lambda runs it (-tags lambda.norpc,
// the provided.al2023 bootstrap, which talks to the runtime API only). It skips only when there is no go tool
// to build with; a build that fails fails the test.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH to build the bootstrap binary: %v", err)
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	// CGO_ENABLED=0 as the release build (Makefile): also the faster link.
	cmd := exec.Command(goTool, "build", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags lambda.norpc: %v\n%s", err, b)
	}
	return out
}

// lockedBuffer collects the process's output, written from two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBootstrap runs the binary against the runtime emulator with env,
// and stops it when the test ends.
func startBootstrap(t *testing.T, bin string, rt *lambdatest.Runtime, env map[string]string) *lockedBuffer {
	t.Helper()
	logs := &lockedBuffer{}
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr, "AWS_LAMBDA_FUNCTION_NAME=cogvault-migration", "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the bootstrap binary: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return logs
}

// TestBootstrapMigratesAcrossAccounts runs the real bootstrap binary under
// a Lambda runtime API emulator as the target pool's UserMigration
// function, with the source pool reached through an assumed role (a source
// in another account). A user signs in to the target with the source
// password and ends CONFIRMED with the source's attributes; a wrong
// password creates no one; the function's output names no user, password
// or attribute value.
func TestBootstrapMigratesAcrossAccounts(t *testing.T) {
	bin := buildBootstrap(t)
	rt := lambdatest.Start(t, lambdatest.Options{FunctionARN: e2eFunction})
	sts := ststest.NewTestServer(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: rt.URL})
	w := &roleWorld{srv: srv, sts: sts, api: cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})}
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: 8, Password: rolePW})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Users: 0})
	if err != nil {
		t.Fatal(err)
	}
	w.source, w.target = src.PoolID, tgt.PoolID
	w.sourceClient = w.newClient(t, w.source, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth)
	w.targetClient = w.newClient(t, w.target, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	// Both triggers, as `cogvault migrate start` sets them (issue 15's
	// contract): PostAuthentication adds the groups and writes the record.
	if err := srv.SetLambdaConfig(w.target, map[string]string{cognitotest.TriggerUserMigration: e2eFunction, "PostAuthentication": e2eFunction}); err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir()
	logs := startBootstrap(t, bin, rt, map[string]string{
		"COGVAULT_REPO": repoDir, "COGVAULT_POOL_ID": w.target,
		"COGVAULT_MIGRATION_SOURCE_POOL_ID": w.source, "COGVAULT_MIGRATION_SOURCE_CLIENT_ID": w.sourceClient,
		"COGVAULT_MIGRATION_SOURCE_ROLE_ARN": sourceRole,
		"AWS_REGION":                         "us-east-1", "AWS_ENDPOINT_URL": srv.URL, "AWS_ENDPOINT_URL_STS": sts.URL,
		"AWS_ACCESS_KEY_ID": functionKey, "AWS_SECRET_ACCESS_KEY": "function-own-secret", "AWS_SESSION_TOKEN": "function-session-token",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	})

	w.user = w.otherUser(t)
	oracle, err := w.api.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &w.source, Username: &w.user})
	if err != nil {
		t.Fatal(err)
	}
	wantGroups := w.groupsInBoth(t, "admins", "staff")
	if err := w.signIn(rolePW); err != nil {
		t.Fatalf("sign-in to the target with the source password through the bootstrap: %v\n%s", err, logs)
	}
	if got := w.groupsOf(t, w.target); !slices.Equal(got, wantGroups) {
		t.Errorf("after the migrating sign-in the user is in target groups %v, want the source's %v (PostAuthentication)", got, wantGroups)
	}
	if recs, _ := filepath.Glob(filepath.Join(repoDir, "migrations", w.target, "users", "*.json")); len(recs) != 1 {
		t.Errorf("%d users/ records in the repository after one migration, want 1", len(recs))
	}
	got, err := w.api.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &w.target, Username: &w.user})
	if err != nil {
		t.Fatalf("the migrated user is not in the target: %v", err)
	}
	if got.UserStatus != types.UserStatusTypeConfirmed {
		t.Errorf("target status %s, want CONFIRMED", got.UserStatus)
	}
	want, have := attrsOf(oracle.UserAttributes), attrsOf(got.UserAttributes)
	for k, v := range want {
		if k != "sub" && k != "identities" && have[k] != v {
			t.Errorf("attribute %s differs from the source's", k)
		}
	}
	if have["sub"] == "" || have["sub"] == want["sub"] {
		t.Errorf("the target user's sub is empty or the source's")
	}
	n := len(srv.CallerKeys("AdminInitiateAuth"))
	if err := w.signIn(rolePW); err != nil || len(srv.CallerKeys("AdminInitiateAuth")) != n {
		t.Errorf("second sign-in: %v, %d more source checks; want the target's own password check", err, len(srv.CallerKeys("AdminInitiateAuth"))-n)
	}
	if keys := srv.CallerKeys("AdminInitiateAuth"); len(keys) != 1 || sts.IssuedFor(keys[0]) == "" {
		t.Errorf("source AdminInitiateAuth signed with %v, want one call with a key STS issued", keys)
	}

	// A wrong password creates no one.
	good := w.user
	w.user = w.otherUserThan(t, good)
	if err := w.signIn("Wrong-pass-42"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	if w.inTarget(t) {
		t.Error("a wrong password created the user in the target")
	}
	wrong := w.user

	// Forgot password: a user not yet migrated asks for a code in the
	// target, the function answers from the source (RESET_REQUIRED), the
	// code confirms a new password.
	w.user = w.verifiedUser(t, good, wrong)
	ctx := context.Background()
	if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.targetClient, Username: &w.user}); err != nil {
		t.Fatalf("ForgotPassword through the bootstrap: %v\n%s", err, logs)
	}
	var code string
	for _, m := range srv.Outbox() {
		if m.Pool == w.target && m.Username == w.user && m.Kind == "forgot-password" {
			code = m.Code
		}
	}
	if _, err := w.api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: &w.targetClient, Username: &w.user,
		ConfirmationCode: &code, Password: aws.String("Reset-pass-42")}); err != nil {
		t.Fatalf("ConfirmForgotPassword with the code (%d digits): %v", len(code), err)
	}
	if err := w.signIn("Reset-pass-42"); err != nil {
		t.Errorf("sign-in with the reset password: %v", err)
	}
	checkCallsAreGranted(t, srv, sts)
	checkNoSecrets(t, logs.String(), append([]string{rolePW, "Wrong-pass-42", "Reset-pass-42", code, good, wrong, w.user, "function-own-secret", "function-session-token"}, sts.Secrets()...), want)
}

// verifiedUser is an enabled, confirmed source user with a verified email
// or phone number, other than the ones named.
func (w *roleWorld) verifiedUser(t *testing.T, not ...string) string {
	t.Helper()
	users, err := w.api.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &w.source, Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		a, n := attrsOf(u.Attributes), aws.ToString(u.Username)
		if u.Enabled && (a["email_verified"] == "true" || a["phone_number_verified"] == "true") && !slices.Contains(not, n) {
			return n
		}
	}
	t.Fatal("no other enabled, confirmed, verified source user")
	return ""
}

// checkNoSecrets fails when out holds a password, a name, a credential or
// an attribute value (values short enough to be words, like "true", are
// not looked for).
func checkNoSecrets(t *testing.T, out string, secrets []string, attrs map[string]string) {
	t.Helper()
	if !strings.Contains(out, "user migrated") || !strings.Contains(out, "user migration refused") {
		t.Errorf("the function logged no migration and no refusal:\n%s", out)
	}
	for _, v := range attrs {
		if len(v) >= 6 && v != "false" {
			secrets = append(secrets, v)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the function's output holds a password, name, credential or attribute value (%d characters)", len(s))
		}
	}
}

func attrsOf(in []types.AttributeType) map[string]string {
	m := map[string]string{}
	for _, a := range in {
		m[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	return m
}

func (w *roleWorld) otherUserThan(t *testing.T, not string) string {
	t.Helper()
	saved := w.user
	w.user = not
	defer func() { w.user = saved }()
	return w.otherUser(t)
}

// checkCallsAreGranted: every Cognito call the function made is one
// iampolicy's lambda-migration grants it, on the side it grants it: with the
// source role's keys only the source actions, with its own keys only the
// target's (the test's own calls are unsigned and not counted).
func checkCallsAreGranted(t *testing.T, srv *cognitotest.Server, sts *ststest.Server) {
	t.Helper()
	for _, op := range cognitotest.Operations() {
		for _, k := range srv.CallerKeys(op) {
			action := "cognito-idp:" + op
			switch {
			case sts.IssuedFor(k) != "" && !slices.Contains(iampolicy.Lambda["migration_source"], action):
				t.Errorf("the function called %s with the source role, which lambda-migration does not grant there", op)
			case k == functionKey && !slices.Contains(iampolicy.Lambda["migration_target"], action):
				t.Errorf("the function called %s with its own credentials, which lambda-migration does not grant on the target", op)
			case sts.IssuedFor(k) == "" && k != functionKey:
				t.Errorf("%s signed with an unknown key", op)
			}
		}
	}
}

// groupsInBoth creates the groups in both pools (as `cogvault migrate start`
// copies groups) and puts the source user w.user in them; it returns their
// names, sorted.
func (w *roleWorld) groupsInBoth(t *testing.T, names ...string) []string {
	t.Helper()
	ctx := context.Background()
	for _, g := range names {
		for _, pool := range []string{w.source, w.target} {
			if _, err := w.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: &g}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &w.source, Username: &w.user, GroupName: &g}); err != nil {
			t.Fatal(err)
		}
	}
	want := w.groupsOf(t, w.source)
	if len(want) != len(names) {
		t.Fatalf("the source user is in groups %v, want %v", want, names)
	}
	return want
}

// groupsOf lists w.user's groups in pool, sorted.
func (w *roleWorld) groupsOf(t *testing.T, pool string) []string {
	t.Helper()
	return groupsOf(t, w.api, pool, w.user)
}
