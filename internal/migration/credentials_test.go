package migration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/ststest"
)

const credRole = "arn:aws:iam::111122223333:role/cogvault-migration-source"

// roleHandler is a handler whose source calls sign with sourceCredentials
// (AssumeRole bounded by timeout) against a source pool of the fake, and a
// user who signs in with the right password.
func roleHandler(t *testing.T, st *ststest.Server, budget, timeout time.Duration, logs *bytes.Buffer) (*Handler, json.RawMessage) {
	t.Helper()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	const pw = "Source-pass-42"
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: 5, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	admin := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	cl, err := admin.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: &src.PoolID, ClientName: aws.String("m"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	users, err := admin.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &src.PoolID, Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil || len(users.Users) == 0 {
		t.Fatalf("no confirmed source user: %v", err)
	}
	var name string
	for _, u := range users.Users {
		if u.Enabled {
			name = aws.ToString(u.Username)
		}
	}
	stsClient := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(st.URL),
		Credentials: credentials.NewStaticCredentialsProvider("ASIAFUNCTIONSESSION1", "own-secret", "own-session-token")})
	source := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: sourceCredentials(stsClient, credRole, timeout)})
	h, err := New(Config{SourcePoolID: src.PoolID, SourceClientID: aws.ToString(cl.UserPoolClient.ClientId), Source: source, Budget: budget,
		Log: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"version": "1", "triggerSource": SourceAuthentication, "userPoolId": "us-east-1_Target1",
		"userName": name, "request": map[string]any{"password": pw}, "response": map[string]any{}})
	return h, ev
}

// handle runs one event, failing the test if the handler does not come
// back at all (an AssumeRole outside the call's budget would hang here).
func handle(t *testing.T, h *Handler, ev json.RawMessage) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := h.Handle(context.Background(), ev)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not come back: the AssumeRole is not bounded by the call's budget")
		return nil
	}
}

// TestAssumeRoleWithinTheBudget: an STS that does not answer refuses the
// sign-in at the handler's budget ("try again"), and once STS answers the
// next sign-in migrates.
func TestAssumeRoleWithinTheBudget(t *testing.T) {
	st := ststest.NewTestServer(t)
	release := st.HoldAssumeRole()
	defer release()
	logs := &bytes.Buffer{}
	h, ev := roleHandler(t, st, 300*time.Millisecond, assumeRoleTimeout, logs)
	// The refusal says the budget ran out (its text carries the class).
	if err := handle(t, h, ev); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("sign-in while STS holds AssumeRole: %v, want %v (timeout)", err, ErrUnavailable)
	}
	if !strings.Contains(logs.String(), "user migration refused") {
		t.Errorf("the refusal is not logged:\n%s", logs)
	}
	release()
	if err := handle(t, h, ev); err != nil {
		t.Fatalf("sign-in once STS answers: %v", err)
	}
	if n := len(st.Calls()); n < 1 || n > 2 {
		t.Errorf("%d AssumeRole calls, want 1 or 2", n)
	}
}

// TestHungAssumeRoleIsAbandoned: an AssumeRole that never answers is given
// up after its own timeout, so the next sign-in asks STS again instead of
// waiting on the hung call.
func TestHungAssumeRoleIsAbandoned(t *testing.T) {
	st := ststest.NewTestServer(t)
	release := st.HoldAssumeRole()
	defer release()
	h, ev := roleHandler(t, st, 5*time.Second, 100*time.Millisecond, &bytes.Buffer{})
	for i := range 2 {
		if err := handle(t, h, ev); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("sign-in %d while STS hangs: %v, want %v", i+1, err, ErrUnavailable)
		}
	}
	if n := len(st.Calls()); n != 2 {
		t.Errorf("%d AssumeRole calls for two sign-ins, want 2 (a hung call abandoned, not waited on)", n)
	}
}
