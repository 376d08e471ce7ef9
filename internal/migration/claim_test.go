package migration_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/migration"
)

// The tests here guard PostAuthentication's binding of a pending record to
// the user the migration created (review finding 2): the exact sign-in
// value, the legacy sub when the target has one, and the target user's
// creation time against the record's.

// clock is the time of both the fake Cognito and the function.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// pairOptions shape claimWorld: the pools' case sensitivity, whether the
// source has custom:tenant that the target lacks (Cognito then refuses
// the function's answer), and whether both have custom:legacy_sub (the
// function then keeps the old sub there).
type pairOptions struct {
	caseSensitive, tenant, legacySub bool
	name                             string // the source user's name; default "Admin"
}

// claimWorld is a source with one user (o.name, default "Admin") in group admins (a
// verified email, a password), an empty target with the same group, and
// the real function on the target's UserMigration and PostAuthentication.
func claimWorld(t *testing.T, o pairOptions) (*world, *clock) {
	t.Helper()
	if o.name == "" {
		o.name = "Admin"
	}
	clk := &clock{}
	var h *capture.Handler
	lambda := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, err := h.Handle(r.Context(), body)
		if err != nil {
			out, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
			rw.Header().Set("X-Amz-Function-Error", "Unhandled")
		}
		_, _ = rw.Write(out)
	}))
	t.Cleanup(lambda.Close)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL, Now: clk.now})
	api := client(t, srv.URL)
	mk := func(name string) string {
		in := &cip.CreateUserPoolInput{PoolName: aws.String(name)}
		if !o.caseSensitive {
			in.UsernameConfiguration = &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}
		}
		if o.tenant && name == "old" {
			in.Schema = append(in.Schema, types.SchemaAttributeType{Name: aws.String("tenant"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)})
		}
		if o.legacySub {
			in.Schema = append(in.Schema, types.SchemaAttributeType{Name: aws.String("legacy_sub"), AttributeDataType: types.AttributeDataTypeString, Mutable: aws.Bool(true)})
		}
		out, err := api.CreateUserPool(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserPool.Id)
	}
	source, target := mk("old"), mk("new")
	for _, p := range []string{source, target} {
		if _, err := api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &p, GroupName: aws.String("admins")}); err != nil {
			t.Fatal(err)
		}
	}
	attrs := []types.AttributeType{{Name: aws.String("email"), Value: aws.String("admin@corp.example")}, {Name: aws.String("email_verified"), Value: aws.String("true")}}
	if o.tenant {
		attrs = append(attrs, types.AttributeType{Name: aws.String("custom:tenant"), Value: aws.String("acme")})
	}
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &source, Username: &o.name, MessageAction: types.MessageActionTypeSuppress, UserAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &source, Username: &o.name, Password: aws.String(sourcePW), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &source, Username: &o.name, GroupName: aws.String("admins")}); err != nil {
		t.Fatal(err)
	}
	w := &world{srv: srv, api: api, source: source, target: target}
	w.sourceClient = w.newClient(t, source, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth)
	w.tgClient = w.newClient(t, target, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth)
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:cogvault"
	if err := srv.SetLambdaConfig(target, map[string]string{cognitotest.TriggerUserMigration: fn, cognitotest.TriggerPostAuthentication: fn}); err != nil {
		t.Fatal(err)
	}
	w.repo, w.store = signedRepo(t)
	log := slog.New(slog.DiscardHandler)
	cfg := migration.Config{SourcePoolID: source, SourceClientID: w.sourceClient, Source: api, Log: log, Records: w.repo, Target: api, Now: clk.now}
	if o.legacySub {
		cfg.LegacySubAttribute = legacy
	}
	mig, err := migration.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h, err = capture.New(capture.Config{PoolID: target, Region: "us-east-1", Repo: w.repo, Cognito: api, Log: log, Migration: mig}); err != nil {
		t.Fatal(err)
	}
	return w, clk
}

// signUp makes name a confirmed self-signed-up user of the target.
func (w *world) signUp(t *testing.T, name, pw string) {
	t.Helper()
	if _, err := w.api.SignUp(ctx, &cip.SignUpInput{ClientId: &w.tgClient, Username: &name, Password: &pw,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("x@attacker.example")}}}); err != nil {
		t.Fatalf("sign-up: %v", err)
	}
	if _, err := w.api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: &w.target, Username: &name}); err != nil {
		t.Fatal(err)
	}
}

// TestPendingRecordIsNotAnotherCasesUser: in case-sensitive pools (the
// API's default) "Admin" and "admin" are two users. Anyone may ask
// ForgotPassword for "Admin" on the target (the function migrates it,
// RESET_REQUIRED, and writes its pending record), self-sign-up as "admin"
// and sign in: "admin" must not get Admin's groups, and Admin's record
// stays for Admin.
//
// An email-shaped username's record key folds case (a target signing in by
// email needs that), so "Boss@corp.example" and "boss@corp.example" share
// one: the exact value the record binds refuses the other.
func TestPendingRecordIsNotAnotherCasesUser(t *testing.T) {
	for _, c := range []struct{ victim, attacker string }{{"Admin", "admin"}, {"Boss@corp.example", "boss@corp.example"}} {
		t.Run(c.attacker, func(t *testing.T) {
			w, _ := claimWorld(t, pairOptions{caseSensitive: true, name: c.victim})
			if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: &c.victim}); err != nil {
				t.Fatalf("forgot password: %v", err)
			}
			w.signUp(t, c.attacker, "Attacker-pass-1")
			if _, err := w.signIn(c.attacker, "Attacker-pass-1"); err != nil {
				t.Fatalf("attacker sign-in: %v", err)
			}
			if g := w.groups(t, w.target, c.attacker); len(g) > 0 {
				t.Errorf("target user %q (not a source user) got source user %q's groups %v", c.attacker, c.victim, g)
			}
			if _, err := w.repo.GetMigrationRecord(ctx, w.target, pendingName(c.victim)); err != nil {
				t.Errorf("the victim's pending record is gone: %v", err)
			}
		})
	}
}

// TestRefusedMigrationLeavesNoClaimablePendingRecord: the function writes
// the pending record before Cognito accepts its answer; here Cognito
// refuses it (custom:tenant is not in the target) and creates no one. A
// later user of that name, in any case, even exactly "Admin", gets no
// groups: its creation is not the migration's.
func TestRefusedMigrationLeavesNoClaimablePendingRecord(t *testing.T) {
	for _, squatter := range []string{"admin", "Admin"} {
		t.Run(squatter, func(t *testing.T) {
			w, clk := claimWorld(t, pairOptions{tenant: true})
			if _, err := w.signIn("Admin", sourcePW); err == nil {
				t.Fatal("Admin migrated into a target without custom:tenant")
			}
			if _, err := w.repo.GetMigrationRecord(ctx, w.target, pendingName("Admin")); err != nil {
				t.Fatalf("no pending record for the refused migration (the test needs one): %v", err)
			}
			clk.advance(3 * time.Minute)
			w.signUp(t, squatter, "Attacker-pass-1")
			if _, err := w.signIn(squatter, "Attacker-pass-1"); err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			if g := w.groups(t, w.target, squatter); len(g) > 0 {
				t.Errorf("target user %q created after a refused migration got source user \"Admin\"'s groups %v", squatter, g)
			}
		})
	}
}

// TestPendingRecordWantsTheLegacySub: in a target with custom:legacy_sub
// the migrated user carries the old sub; a user under the migration's name
// and time whose legacy sub is not the record's (here an admin changed it)
// gets no groups. The same user with the right value gets them.
func TestPendingRecordWantsTheLegacySub(t *testing.T) {
	w, _ := claimWorld(t, pairOptions{caseSensitive: true, legacySub: true})
	if _, err := w.api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: &w.tgClient, Username: aws.String("Admin")}); err != nil {
		t.Fatalf("forgot password: %v", err)
	}
	u, err := w.get(w.target, "Admin")
	if err != nil {
		t.Fatal(err)
	}
	oldSub := attrMap(u.UserAttributes)[legacy]
	set := func(v string) {
		if _, err := w.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &w.target, Username: aws.String("Admin"),
			UserAttributes: []types.AttributeType{{Name: aws.String(legacy), Value: aws.String(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	set("another-sub")
	if _, err := w.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &w.target, Username: aws.String("Admin"), Password: aws.String(sourcePW), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.signIn("Admin", sourcePW); err != nil {
		t.Fatal(err)
	}
	if g := w.groups(t, w.target, "Admin"); len(g) > 0 {
		t.Errorf("a user whose legacy sub is not the record's got groups %v", g)
	}
	set(oldSub)
	if _, err := w.signIn("Admin", sourcePW); err != nil {
		t.Fatal(err)
	}
	if g := w.groups(t, w.target, "Admin"); len(g) != 1 {
		t.Errorf("the migrated user with its legacy sub got groups %v, want [admins]", g)
	}
}
