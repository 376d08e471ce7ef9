package migration_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/migration"
)

// direct calls the handler with an event shaped as the migrate-user page
// gives it, to see the answer itself: the fake drops a returned sub, so
// only here does a sub in the answer show.
func direct(t *testing.T, w *world, budget time.Duration, source, name, pw string) (map[string]any, error) {
	t.Helper()
	h, err := migration.New(migration.Config{SourcePoolID: w.source, SourceClientID: w.sourceClient, Source: w.api,
		LegacySubAttribute: legacy, Budget: budget})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"version": "1", "triggerSource": source, "region": "us-east-1", "userPoolId": w.target,
		"userName": name, "callerContext": map[string]string{"clientId": w.tgClient},
		"request": map[string]any{"password": pw, "validationData": nil}, "response": map[string]any{}})
	out, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back["userPoolId"] != w.target || back["callerContext"].(map[string]any)["clientId"] != w.tgClient {
		t.Errorf("the answer lost the event's members: %v", back["callerContext"])
	}
	return back["response"].(map[string]any), nil
}

func TestAnswerLeavesOutSubAndIdentities(t *testing.T) {
	w := newWorld(t)
	var name string
	for _, u := range w.sourceUsers(t, types.UserStatusTypeConfirmed, true) {
		if _, ok := attrMap(u.Attributes)["identities"]; ok {
			name = aws.ToString(u.Username)
		}
	}
	if name == "" {
		t.Fatal("no confirmed source user linked to a provider")
	}
	_, oldSub := w.want(t, name)
	for _, source := range []string{migration.SourceAuthentication, migration.SourceForgotPassword} {
		resp, err := direct(t, w, 0, source, name, sourcePW)
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		ua := resp["userAttributes"].(map[string]any)
		if _, ok := ua["sub"]; ok {
			t.Errorf("%s: the answer has sub", source)
		}
		if _, ok := ua["identities"]; ok {
			t.Errorf("%s: the answer has identities", source)
		}
		if ua[legacy] != oldSub || resp["messageAction"] != "SUPPRESS" {
			t.Errorf("%s: legacy sub kept %v, messageAction %v", source, ua[legacy] == oldSub, resp["messageAction"])
		}
	}
}

func TestRefusalsByCause(t *testing.T) {
	w := newWorld(t)
	disabled := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, false)[0].Username)
	if _, err := w.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &w.source, Username: &disabled,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("d@example.com")},
			{Name: aws.String("email_verified"), Value: aws.String("true")}}}); err != nil {
		t.Fatal(err)
	}
	confirmed := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, true)[0].Username)
	for _, c := range []struct {
		what, source, name, pw string
		want                   error
	}{
		{"empty password", migration.SourceAuthentication, confirmed, "", migration.ErrRefused},
		{"forgot password, disabled source user", migration.SourceForgotPassword, disabled, "", migration.ErrRefused},
		{"forgot password, unknown user", migration.SourceForgotPassword, "nobody-at-all", "", migration.ErrRefused},
	} {
		if _, err := direct(t, w, 0, c.source, c.name, c.pw); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, err, c.want)
		}
	}
}

// TestSourceCallsHaveABudget: a source slower than the budget is a refusal
// ("try again"), not an answer Cognito would no longer wait for.
func TestSourceCallsHaveABudget(t *testing.T) {
	w := newWorld(t)
	name := aws.ToString(w.sourceUsers(t, types.UserStatusTypeConfirmed, true)[0].Username)
	w.srv.InjectFault(cognitotest.Fault{Operation: "AdminGetUser", Kind: cognitotest.FaultLatency, Latency: time.Second, Count: 1})
	if _, err := direct(t, w, 20*time.Millisecond, migration.SourceForgotPassword, name, ""); !errors.Is(err, migration.ErrUnavailable) {
		t.Errorf("slow source: %v, want ErrUnavailable", err)
	}
}

// TestPostAuthenticationNeverFailsTheSignIn: a source slower than the
// budget leaves the event unchanged and the pending record in place (the
// next sign-in tries again); the next call with a prompt source finishes.
func TestPostAuthenticationNeverFailsTheSignIn(t *testing.T) {
	w := newWorld(t)
	name, _ := w.userInGroups(t)
	w.copyGroups(t, "")
	_, oldSub := w.want(t, name)
	pending := pendingBody(oldSub, name, name, time.Now())
	if err := w.repo.PutMigrationRecord(ctx, w.target, pendingName(name), pending); err != nil {
		t.Fatal(err)
	}
	// The user as the target would hold it after its migration.
	if _, err := w.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &w.target, Username: &name,
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	newSub := attrMap(mustGet(t, w, w.target, name).UserAttributes)["sub"]
	h, err := migration.New(migration.Config{SourcePoolID: w.source, SourceClientID: w.sourceClient, Source: w.api,
		Budget: 20 * time.Millisecond, Records: w.repo, Target: w.api})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"version": "1", "triggerSource": migration.SourcePostAuthentication, "region": "us-east-1",
		"userPoolId": w.target, "userName": name, "callerContext": map[string]string{"clientId": w.tgClient},
		"request": map[string]any{"userAttributes": map[string]string{"sub": newSub}, "newDeviceUsed": false}, "response": map[string]any{}})
	w.srv.InjectFault(cognitotest.Fault{Operation: "AdminListGroupsForUser", Kind: cognitotest.FaultLatency, Latency: time.Second, Count: 1})
	out, err := h.Handle(ctx, ev)
	if err != nil || string(out) != string(ev) {
		t.Fatalf("slow source: %v, event changed %v", err, string(out) != string(ev))
	}
	if _, err := w.repo.GetMigrationRecord(ctx, w.target, pendingName(name)); err != nil {
		t.Errorf("pending record after a timed-out PostAuthentication: %v", err)
	}
	if _, err := w.repo.GetMigrationRecord(ctx, w.target, "users/"+newSub+".json"); err == nil {
		t.Error("users record written though the groups were not copied")
	}
	h, _ = migration.New(migration.Config{SourcePoolID: w.source, SourceClientID: w.sourceClient, Source: w.api, Records: w.repo, Target: w.api})
	if _, err := h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	w.migrated(t, name, name, "", w.groups(t, w.source, name))
}

// TestOddPostAuthenticationEventsPassThrough: a PostAuthentication event
// the handler cannot use goes back unchanged, never as an error (which
// would fail the sign-in).
func TestOddPostAuthenticationEventsPassThrough(t *testing.T) {
	w := newWorld(t)
	h, err := migration.New(migration.Config{SourcePoolID: w.source, SourceClientID: w.sourceClient, Source: w.api, Records: w.repo, Target: w.api})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{
		`{"triggerSource":"PostAuthentication_Authentication","userPoolId":"` + w.target + `","userName":"u","request":{"userAttributes":{"sub":"s","odd":true}},"response":{}}`,
		`{"triggerSource":"PostAuthentication_Authentication","userPoolId":"` + w.target + `","request":{"userAttributes":"not an object"}}`,
		`{"triggerSource":"PostAuthentication_Authentication","userPoolId":"../../x","userName":"u","request":{}}`,
	} {
		if out, err := h.Handle(ctx, json.RawMessage(ev)); err != nil || string(out) != ev {
			t.Errorf("%s: %v, changed %v", ev, err, string(out) != ev)
		}
	}
}
