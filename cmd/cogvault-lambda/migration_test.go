package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestMigrationWiredFromTheEnvironment: with COGVAULT_MIGRATION_* set, the
// Lambda's handler answers a UserMigration event from the source pool; a
// source role ARN that is not a role's stops start-up with a message naming
// the variable.
func TestMigrationWiredFromTheEnvironment(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "source", Users: 5, Password: "Source-pass-42"})
	if err != nil {
		t.Fatal(err)
	}
	api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	cl, err := api.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: &src.PoolID, ClientName: aws.String("m"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}
	users, err := api.ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &src.PoolID, Filter: aws.String(`cognito:user_status = "CONFIRMED"`)})
	if err != nil || len(users.Users) == 0 {
		t.Fatalf("no confirmed source user: %v", err)
	}
	for k, v := range map[string]string{
		"COGNITO_BACKUP_BUCKET": "", "COGVAULT_REPO": t.TempDir(), "COGVAULT_POOL_ID": "us-east-1_Target1",
		"COGVAULT_MIGRATION_SOURCE_POOL_ID": src.PoolID, "COGVAULT_MIGRATION_SOURCE_CLIENT_ID": aws.ToString(cl.UserPoolClient.ClientId),
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := newHandler(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{"version": "1", "triggerSource": "UserMigration_Authentication", "userPoolId": "us-east-1_Target1",
		"userName": aws.ToString(users.Users[0].Username), "request": map[string]any{"password": "Source-pass-42"}, "response": map[string]any{}})
	out, err := h.Handle(context.Background(), ev)
	if err != nil || !strings.Contains(string(out), `"finalUserStatus":"CONFIRMED"`) {
		t.Errorf("UserMigration through the Lambda's handler: %v (answer has CONFIRMED: %v)", err, strings.Contains(string(out), "CONFIRMED"))
	}
	t.Setenv("COGVAULT_MIGRATION_SOURCE_ROLE_ARN", "arn:aws:iam::111111111111:user/source")
	if _, err := newHandler(context.Background(), log); err == nil || !strings.Contains(err.Error(), "COGVAULT_MIGRATION_SOURCE_ROLE_ARN") {
		t.Errorf("a source role ARN that names a user: %v, want a refusal naming the variable", err)
	}
}
