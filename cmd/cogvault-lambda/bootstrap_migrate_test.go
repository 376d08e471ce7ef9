package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/lambdatest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestBootstrapMigrationStartToFinish is issue 15's "done when" end to
// end: `cogvault migrate start` creates the new pool and points both
// triggers at the real bootstrap binary (under the runtime API emulator,
// with the environment start printed); users sign in to the new pool with
// their old passwords and land CONFIRMED with their attributes and groups;
// `cogvault migrate finish` brings the rest and every membership. The
// oracle is the source pool's own API (AdminGetUser, AdminListGroupsForUser).
func TestBootstrapMigrationStartToFinish(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
		"XDG_CONFIG_HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir()} {
		t.Setenv(k, v)
	}
	bin := buildBootstrap(t)
	rt := lambdatest.Start(t, lambdatest.Options{FunctionARN: e2eFunction})
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: rt.URL})
	api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "old", Users: 30, Groups: 3, Password: rolePW})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/repo"
	store, _ := storage.NewDir(dir)
	if err := repo.Init(context.Background(), store, repo.Config{}, nil); err != nil {
		t.Fatal(err)
	}
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir}
	out := mainOK(t, append(common, "migrate", "start", "--from", src.PoolID, "--create-pool", "new", "--function-arn", e2eFunction, "--output", "json")...)
	var started struct {
		TargetPoolID string `json:"targetPoolId"`
		Function     struct{ Environment map[string]string }
	}
	if err := json.Unmarshal([]byte(out), &started); err != nil {
		t.Fatalf("start's JSON: %v\n%s", err, out)
	}
	env := merged(started.Function.Environment, map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.URL,
		"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED": "true"})
	logs := startBootstrap(t, bin, rt, env)
	target := started.TargetPoolID
	app, err := api.CreateUserPoolClient(context.Background(), &cip.CreateUserPoolClientInput{UserPoolId: &target, ClientName: aws.String("app"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})
	if err != nil {
		t.Fatal(err)
	}

	// Three users with groups sign in with their old password.
	var moved []string
	for _, u := range listAll(t, api, src.PoolID) {
		name := aws.ToString(u.Username)
		if u.UserStatus != types.UserStatusTypeConfirmed || !u.Enabled || len(groupsOf(t, api, src.PoolID, name)) == 0 || len(moved) == 3 {
			continue
		}
		if _, err := api.InitiateAuth(context.Background(), &cip.InitiateAuthInput{ClientId: app.UserPoolClient.ClientId,
			AuthFlow: types.AuthFlowTypeUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": rolePW}}); err != nil {
			t.Fatalf("sign-in with the old password through the bootstrap: %v\n%s", err, logs)
		}
		moved = append(moved, name)
	}
	if len(moved) != 3 {
		t.Fatalf("%d users with groups signed in, want 3", len(moved))
	}
	for _, name := range moved {
		got, err := api.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &target, Username: &name})
		if err != nil || got.UserStatus != types.UserStatusTypeConfirmed {
			t.Fatalf("migrated user: %v, status %v; want CONFIRMED", err, got)
		}
	}

	// A wrong password creates no one.
	var other string
	for _, u := range listAll(t, api, src.PoolID) {
		if n := aws.ToString(u.Username); u.Enabled && !slices.Contains(moved, n) && u.UserStatus == types.UserStatusTypeConfirmed {
			other = n
			break
		}
	}
	if _, err := api.InitiateAuth(context.Background(), &cip.InitiateAuthInput{ClientId: app.UserPoolClient.ClientId,
		AuthFlow: types.AuthFlowTypeUserPasswordAuth, AuthParameters: map[string]string{"USERNAME": other, "PASSWORD": "Wrong-pass-42"}}); err == nil {
		t.Fatal("a wrong password signed in")
	}
	if _, err := api.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &target, Username: &other}); err == nil {
		t.Fatal("a wrong password created the user in the target")
	}

	mainOK(t, append(common, "migrate", "finish", "--from", src.PoolID, "--to", target, "--mapping-file", t.TempDir()+"/subs")...)

	// Everyone is there, with the source's attributes, enabled flag and groups.
	for _, u := range listAll(t, api, src.PoolID) {
		name := aws.ToString(u.Username)
		if u.UserStatus == types.UserStatusTypeExternalProvider {
			continue // federated-only users come back at their next federated sign-in
		}
		got, err := api.AdminGetUser(context.Background(), &cip.AdminGetUserInput{UserPoolId: &target, Username: &name})
		if err != nil {
			t.Fatalf("source user %s is not in the target after finish: %v", name, err)
		}
		if got.Enabled != u.Enabled {
			t.Errorf("user %s: enabled %v, source %v", name, got.Enabled, u.Enabled)
		}
		want, have := attrsOf(u.Attributes), attrsOf(got.UserAttributes)
		for k, v := range want {
			if k != "sub" && k != "identities" && !strings.HasSuffix(k, "_verified") && have[k] != v {
				t.Errorf("user %s: attribute %s differs from the source's", name, k)
			}
		}
		if g, w := groupsOf(t, api, target, name), groupsOf(t, api, src.PoolID, name); !slices.Equal(g, w) {
			t.Errorf("user %s: groups %v in the target, %v in the source", name, g, w)
		}
	}
	if d, err := api.DescribeUserPool(context.Background(), &cip.DescribeUserPoolInput{UserPoolId: &target}); err != nil ||
		d.UserPool.LambdaConfig != nil && (d.UserPool.LambdaConfig.UserMigration != nil || d.UserPool.LambdaConfig.PostAuthentication != nil) {
		t.Errorf("the migration triggers are still set after finish (%v)", err)
	}
	checkNoSecrets(t, logs.String(), append([]string{rolePW, "Wrong-pass-42", other}, moved...), nil)
}

// mainOK runs the cogvault CLI in-process and wants exit 0 or 3 (items not
// carried or not restored, listed).
func mainOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb lockedBuffer
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 && code != 3 {
		t.Fatalf("cogvault %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

func merged(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

func listAll(t *testing.T, api *cip.Client, pool string) []types.UserType {
	t.Helper()
	var users []types.UserType
	p := cip.NewListUsersPaginator(api, &cip.ListUsersInput{UserPoolId: &pool})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, page.Users...)
	}
	return users
}

func groupsOf(t *testing.T, api *cip.Client, pool, user string) []string {
	t.Helper()
	out, err := api.AdminListGroupsForUser(context.Background(), &cip.AdminListGroupsForUserInput{UserPoolId: &pool, Username: &user})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range out.Groups {
		names = append(names, aws.ToString(g.GroupName))
	}
	slices.Sort(names)
	return names
}
