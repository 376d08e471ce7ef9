package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/migration"
	"github.com/cogvault/cogvault/internal/ststest"
)

const (
	rolePW      = "Source-pass-42"
	sourceRole  = "arn:aws:iam::111122223333:role/cogvault-migration-source"
	functionKey = "ASIAFUNCTIONSESSION1" // a Lambda signs with its role's session
)

// roleWorld is a source and a target pool on one fake Cognito whose
// UserMigration trigger runs the Lambda's own handler (newHandler), an STS
// fake, and the function's environment pointing at both.
type roleWorld struct {
	srv                          *cognitotest.Server
	sts                          *ststest.Server
	api                          *cip.Client
	source, target, sourceClient string
	targetClient, user           string
	logs                         *bytes.Buffer

	mu sync.Mutex
	h  *capture.Handler
}

func newRoleWorld(t *testing.T) *roleWorld {
	t.Helper()
	w := &roleWorld{logs: &bytes.Buffer{}, sts: ststest.NewTestServer(t)}
	fn := httptest.NewServer(cognitotest.LambdaHandler(func(_ string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
		raw, _ := json.Marshal(ev)
		w.mu.Lock()
		h := w.h
		w.mu.Unlock()
		out, err := h.Handle(context.Background(), raw)
		if err != nil {
			return ev, err
		}
		var back cognitotest.TriggerEvent
		return back, json.Unmarshal(out, &back)
	}))
	t.Cleanup(fn.Close)
	w.srv = cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: fn.URL})
	w.api = cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.srv.URL), Credentials: aws.AnonymousCredentials{}})
	src, err := w.srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: 5, Password: rolePW})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := w.srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Users: 0})
	if err != nil {
		t.Fatal(err)
	}
	w.source, w.target = src.PoolID, tgt.PoolID
	w.sourceClient = w.newClient(t, w.source, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth)
	w.targetClient = w.newClient(t, w.target, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	if err := w.srv.SetLambdaConfig(w.target, map[string]string{cognitotest.TriggerUserMigration: "arn:aws:lambda:us-east-1:123456789012:function:cogvault-migration"}); err != nil {
		t.Fatal(err)
	}
	users, err := w.api.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &w.source, Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		if u.Enabled {
			w.user = aws.ToString(u.Username)
		}
	}
	if w.user == "" {
		t.Fatal("no enabled confirmed source user")
	}
	for k, v := range map[string]string{
		"COGNITO_BACKUP_BUCKET": "", "COGVAULT_REPO": t.TempDir(), "COGVAULT_POOL_ID": w.target,
		"COGVAULT_MIGRATION_SOURCE_POOL_ID": w.source, "COGVAULT_MIGRATION_SOURCE_CLIENT_ID": w.sourceClient,
		"COGVAULT_MIGRATION_SOURCE_ROLE_ARN": sourceRole,
		"AWS_REGION":                         "us-east-1", "AWS_ENDPOINT_URL": w.srv.URL, "AWS_ENDPOINT_URL_STS": w.sts.URL,
		"AWS_ACCESS_KEY_ID": functionKey, "AWS_SECRET_ACCESS_KEY": "function-own-secret", "AWS_SESSION_TOKEN": "function-session-token",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	h, err := newHandler(context.Background(), slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	w.h = h
	return w
}

func (w *roleWorld) newClient(t *testing.T, pool string, flow types.ExplicitAuthFlowsType) string {
	t.Helper()
	cl, err := w.api.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: &pool, ClientName: aws.String("m"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{flow}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(cl.UserPoolClient.ClientId)
}

// signIn signs in to the target with USER_PASSWORD_AUTH.
func (w *roleWorld) signIn(pw string) error {
	_, err := w.api.InitiateAuth(context.Background(), &cip.InitiateAuthInput{ClientId: &w.targetClient, AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": w.user, "PASSWORD": pw}})
	return err
}

func (w *roleWorld) inTarget(t *testing.T) bool {
	t.Helper()
	_, err := w.api.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &w.target, Username: &w.user})
	var nf *types.UserNotFoundException
	if err != nil && !errors.As(err, &nf) {
		t.Fatal(err)
	}
	return err == nil
}

// TestSourceInAnotherAccount: with COGVAULT_MIGRATION_SOURCE_ROLE_ARN set,
// the function assumes the role once (session cogvault-migration, signed
// with its own key) and every source call carries the assumed role's key;
// a second sign-in reuses the cached credentials.
func TestSourceInAnotherAccount(t *testing.T) {
	w := newRoleWorld(t)
	if err := w.signIn(rolePW); err != nil {
		t.Fatalf("sign-in to the target with the source password: %v", err)
	}
	if !w.inTarget(t) {
		t.Fatal("the migrated user is not in the target")
	}
	calls := w.sts.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", len(calls))
	}
	c := calls[0]
	if c.RoleArn != sourceRole || c.RoleSessionName != migration.SessionName || c.CallerKey != functionKey || c.Issued == "" {
		t.Errorf("AssumeRole %+v: want role %s, session %s, signed with the function's own key", c, sourceRole, migration.SessionName)
	}
	// The second user goes through with the cached credentials.
	w.user = w.otherUser(t)
	if err := w.signIn(rolePW); err != nil {
		t.Fatalf("second sign-in: %v", err)
	}
	if n := len(w.sts.Calls()); n != 1 {
		t.Errorf("%d AssumeRole calls after a second sign-in, want 1 (cached)", n)
	}
	for _, op := range []string{"AdminInitiateAuth", "AdminGetUser"} {
		keys := w.srv.CallerKeys(op)
		if len(keys) < 2 {
			t.Errorf("%s: %d signed calls, want 2", op, len(keys))
		}
		for _, k := range keys {
			if k != c.Issued {
				t.Errorf("%s signed with %q, want the assumed role's key %q", op, k, c.Issued)
			}
		}
	}
}

func (w *roleWorld) otherUser(t *testing.T) string {
	t.Helper()
	users, err := w.api.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &w.source, Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users.Users {
		if n := aws.ToString(u.Username); u.Enabled && n != w.user {
			return n
		}
	}
	t.Fatal("no second enabled confirmed source user")
	return ""
}

// TestSourceRoleRefused: an AssumeRole STS refuses makes the migration
// refuse (no user created, no source call made), and the log names neither
// the user, the password nor any credential.
func TestSourceRoleRefused(t *testing.T) {
	w := newRoleWorld(t)
	w.sts.Deny(sourceRole)
	err := w.signIn(rolePW)
	var lv *types.UserLambdaValidationException
	if !errors.As(err, &lv) || !strings.Contains(err.Error(), migration.ErrUnavailable.Error()) {
		t.Fatalf("sign-in with the role refused: %v, want UserLambdaValidationException saying %q", err, migration.ErrUnavailable)
	}
	if w.inTarget(t) {
		t.Error("a user was created in the target although the source could not be read")
	}
	if n := len(w.srv.CallerKeys("AdminInitiateAuth")); n != 0 {
		t.Errorf("%d source calls went out without the role's credentials", n)
	}
	if len(w.sts.Calls()) == 0 {
		t.Fatal("AssumeRole was not called")
	}
	logs := w.logs.String()
	if !strings.Contains(logs, "user migration refused") {
		t.Errorf("no refusal logged:\n%s", logs)
	}
	for _, secret := range append([]string{w.user, rolePW, "function-own-secret", "function-session-token"}, w.sts.Secrets()...) {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret or a name (%d characters)", len(secret))
		}
	}
}
