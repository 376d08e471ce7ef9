package cognito_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"pgregory.net/rapid"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

var ctx = context.Background()

func client(srv *cognitotest.Server) *cip.Client {
	return cip.NewFromConfig(aws.Config{
		Region:       srv.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
		},
	})
}

func TestShardedListingEqualsFullListing(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 5000, Groups: 12})
	if err != nil {
		t.Fatal(err)
	}
	c := client(srv)
	full := map[string]bool{}
	for u, err := range cognito.Users(ctx, c, res.PoolID, "") {
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := cognito.Attr(u.Attributes, "sub")
		full[sub] = true
	}
	sharded := map[string]bool{}
	for _, f := range cognito.SubShards() {
		for u, err := range cognito.Users(ctx, c, res.PoolID, f) {
			if err != nil {
				t.Fatal(err)
			}
			sub, _ := cognito.Attr(u.Attributes, "sub")
			if sharded[sub] {
				t.Fatalf("sub %s in two shards", sub)
			}
			sharded[sub] = true
		}
	}
	if len(full) != 5000 || len(sharded) != len(full) {
		t.Fatalf("full listing %d users, sharded %d", len(full), len(sharded))
	}

	members := 0
	for g, err := range cognito.Groups(ctx, c, res.PoolID) {
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range cognito.GroupMembers(ctx, c, res.PoolID, aws.ToString(g.GroupName)) {
			if err != nil {
				t.Fatal(err)
			}
			members++
		}
	}
	if members != res.Memberships {
		t.Fatalf("listed %d memberships, populated %d", members, res.Memberships)
	}
}

func TestUsersReportsErrorsWithThePool(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	n := 0
	for _, err := range cognito.Users(ctx, client(srv), "us-east-1_missing", "") {
		n++
		if !cognito.IsNotFound(err) {
			t.Fatalf("missing pool: %v", err)
		}
		if want := "us-east-1_missing"; !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name the pool", err)
		}
	}
	if n != 1 {
		t.Fatalf("yielded %d items for a missing pool, want one error", n)
	}
}

// TestQuoteFilterValueMatchesExactly checks against the fake's filter parser
// that any value, quotes and backslashes included, finds exactly its user.
func TestQuoteFilterValueMatchesExactly(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{})
	c := client(srv)
	i := 0
	rapid.Check(t, func(rt *rapid.T) {
		v := rapid.StringOfN(rapid.RuneFrom([]rune{'a', '"', '\\', ' ', ',', 'é', '='}), 1, 12, -1).Draw(rt, "value")
		i++
		name := "quoted-" + strconv.Itoa(i)
		_, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &res.PoolID, Username: &name,
			MessageAction:  types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String("family_name"), Value: aws.String(v)}}})
		if err != nil {
			rt.Fatal(err)
		}
		found := 0
		for u, err := range cognito.Users(ctx, c, res.PoolID, "family_name = "+cognito.QuoteFilterValue(v)) {
			if err != nil {
				rt.Fatal(err)
			}
			if got, _ := cognito.Attr(u.Attributes, "family_name"); got != v {
				rt.Fatalf("filter for %q matched %q", v, got)
			}
			found++
		}
		if found == 0 {
			rt.Fatalf("filter for %q found nothing", v)
		}
		if _, err := c.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &res.PoolID, Username: &name}); err != nil {
			rt.Fatal(err)
		}
	})
}

func TestErrorClassification(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 1})
	c := client(srv)
	_, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &res.PoolID, Username: aws.String("nobody")})
	if !cognito.IsUserNotFound(err) || cognito.IsNotFound(err) {
		t.Fatalf("missing user classified wrong: %v", err)
	}
	if cognito.Code(errors.New("plain")) != "" || cognito.Code(&net.OpError{Op: "dial", Err: errors.New("refused")}) != "" {
		t.Fatal("non-service errors must have no code")
	}
}

func TestShardedUsersYieldsEveryUserOnceAndStopsEarly(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 3000})
	c := client(srv)
	seen := map[string]bool{}
	for u, err := range cognito.ShardedUsers(ctx, c, res.PoolID, cognito.SubShards(), 4) {
		if err != nil {
			t.Fatal(err)
		}
		name := aws.ToString(u.Username)
		if seen[name] {
			t.Fatalf("%s yielded twice", name)
		}
		seen[name] = true
	}
	if len(seen) != 3000 {
		t.Fatalf("yielded %d users, want 3000", len(seen))
	}
	n := 0
	for range cognito.ShardedUsers(ctx, c, res.PoolID, cognito.SubShards(), 16) {
		n++
		if n == 10 {
			break
		}
	}
	srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultError, Code: "NotAuthorizedException"})
	var last error
	for _, err := range cognito.ShardedUsers(ctx, c, res.PoolID, cognito.SubShards(), 16) {
		last = err
	}
	if cognito.Code(last) != "NotAuthorizedException" {
		t.Fatalf("error not surfaced: %v", last)
	}
}
