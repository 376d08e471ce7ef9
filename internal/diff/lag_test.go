package diff_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

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
	"github.com/cogvault/cogvault/internal/storage"
)

// A user the live listing does not show yet (created again a moment ago,
// as a restore does) is read with AdminGetUser before diff calls it
// removed; a user really deleted is still reported.
func TestDiffDoesNotCallAUserTheListingLagsOnRemoved(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 200})
	if err != nil {
		t.Fatal(err)
	}
	c := cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		}})
	p := &res.PoolID
	for _, name := range []string{"zed", "gone"} {
		if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p, Username: aws.String(name), MessageAction: types.MessageActionTypeSuppress}); err != nil {
			t.Fatal(err)
		}
	}
	store, _ := storage.NewDir(filepath.Join(t.TempDir(), "repo"))
	m, err := backup.Run(ctx, c, store, backup.Options{PoolID: res.PoolID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetListingLag(time.Hour)
	for _, name := range []string{"zed", "gone"} {
		if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: p, Username: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: p, Username: aws.String("zed"), MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(ctx, diff.SnapshotSource{Repo: repo.New(store), Manifest: m}, diff.LiveSource{API: c, PoolID: res.PoolID},
		diff.Options{IgnoreAttributes: []string{"sub"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.UsersRemoved, []string{"gone"}) {
		t.Fatalf("removed %v, want only the deleted user (zed exists, the listing lags)", rep.UsersRemoved)
	}
}
