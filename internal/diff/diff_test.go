package diff_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

func TestDiffFindsExactlyWhatChanged(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 1500, Groups: 8})
	if err != nil {
		t.Fatal(err)
	}
	c := cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		}})
	store, _ := storage.NewDir(filepath.Join(t.TempDir(), "repo"))
	m, err := backup.Run(ctx, c, store, backup.Options{PoolID: res.PoolID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(store)
	snap := diff.SnapshotSource{Repo: r, Manifest: m}
	live := diff.LiveSource{API: c, PoolID: res.PoolID}

	rep, err := diff.Compare(ctx, snap, live, diff.Options{ComparePool: true})
	if err != nil || !rep.Empty() || rep.UsersCompared != 1500 {
		t.Fatalf("right after backup: %v %+v (pool %+v)", err, rep, rep.Pool)
	}

	p := &res.PoolID
	// Pick victims from the snapshot itself.
	var names []string
	for u, err := range r.Users(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		if u.Status == "CONFIRMED" && u.Enabled && len(names) < 3 {
			names = append(names, u.Username)
		}
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p, Username: aws.String("newcomer"), MessageAction: types.MessageActionTypeSuppress}))
	must(c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: p, Username: &names[0]}))
	must(c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: p, Username: &names[1],
		UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Secretvalue")}}}))
	must(c.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: p, Username: &names[2]}))
	must(c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: p, GroupName: aws.String("new-group")}))
	must(c.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: p, GroupName: aws.String("new-group"), Username: &names[1]}))

	rep, err = diff.Compare(ctx, snap, live, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.UsersAdded, ",") != "newcomer" || strings.Join(rep.UsersRemoved, ",") != names[0] {
		t.Fatalf("added %q removed %q", rep.UsersAdded, rep.UsersRemoved)
	}
	if len(rep.UsersChanged) != 2 {
		t.Fatalf("changed: %+v (names %q, removed %q)", rep.UsersChanged, names, rep.UsersRemoved)
	}
	for _, ch := range rep.UsersChanged {
		switch ch.Username {
		case names[1]:
			if len(ch.Attributes) != 1 || ch.Attributes[0].Name != "given_name" || ch.Attributes[0].New != "" {
				t.Fatalf("attribute change %+v (values must be hidden)", ch)
			}
		case names[2]:
			if len(ch.Enabled) != 2 || ch.Enabled[0] != true || ch.Enabled[1] != false {
				t.Fatalf("disable %+v", ch)
			}
		default:
			t.Fatalf("unexpected change %+v", ch)
		}
	}
	if strings.Join(rep.GroupsAdded, ",") != "new-group" || len(rep.MembershipsAdded) != 1 || rep.MembershipsAdded[0] != (snapshot.Membership{Group: "new-group", Username: names[1]}) {
		t.Fatalf("groups %+v memberships %+v", rep.GroupsAdded, rep.MembershipsAdded)
	}
	// The deleted user's memberships are gone too.
	for _, mm := range rep.MembershipsRemoved {
		if mm.Username != names[0] {
			t.Fatalf("membership removed for %s, only %s was deleted", mm.Username, names[0])
		}
	}
	rep, _ = diff.Compare(ctx, snap, live, diff.Options{ShowValues: true})
	for _, ch := range rep.UsersChanged {
		if ch.Username == names[1] && ch.Attributes[0].New != "Secretvalue" {
			t.Fatalf("--show-values: %+v", ch)
		}
	}
	// Snapshot against itself: no difference.
	rep, _ = diff.Compare(ctx, snap, snap, diff.Options{})
	if !rep.Empty() {
		t.Fatalf("snapshot vs itself: %+v", rep)
	}
}

func TestDiffShowsPoolConfigurationDrift(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 20, Groups: 2})
	c := cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	store, _ := storage.NewDir(filepath.Join(t.TempDir(), "repo"))
	m, err := backup.Run(ctx, c, store, backup.Options{PoolID: res.PoolID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: &res.PoolID, ClientName: aws.String("mobile")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &res.PoolID, ProviderName: aws.String("Okta"),
		ProviderType: types.IdentityProviderTypeTypeOidc, ProviderDetails: map[string]string{"client_id": "x", "client_secret": "s3cret"}}); err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(ctx, diff.SnapshotSource{Repo: repo.New(store), Manifest: m}, diff.LiveSource{API: c, PoolID: res.PoolID}, diff.Options{ComparePool: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Empty() || rep.Pool == nil || len(rep.Pool.ClientsAdded) != 1 || strings.Join(rep.Pool.ProvidersAdded, ",") != "Okta" || len(rep.Pool.Settings) != 0 {
		t.Fatalf("pool drift: %+v", rep.Pool)
	}
	// Without ComparePool the same states agree on users and groups.
	rep, _ = diff.Compare(ctx, diff.SnapshotSource{Repo: repo.New(store), Manifest: m}, diff.LiveSource{API: c, PoolID: res.PoolID}, diff.Options{})
	if !rep.Empty() {
		t.Fatalf("users/groups differ: %+v", rep)
	}
}
