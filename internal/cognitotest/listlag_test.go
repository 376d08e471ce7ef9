package cognitotest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// listedGivenName returns the given_name a listing by username shows, and
// whether the user is listed at all.
func listedGivenName(t *testing.T, c *cip.Client, pool, username string) (string, bool) {
	t.Helper()
	users := listAll(t, c, pool, "username = "+cognito.QuoteFilterValue(username))
	if len(users) == 0 {
		return "", false
	}
	v, _ := cognito.Attr(users[0].Attributes, "given_name")
	return v, true
}

// With a listing lag, a new user is missing from ListUsers and a changed
// user is listed (and filtered) as it was, while AdminGetUser reads the
// current state; once the lag has passed the listing agrees.
func TestListingLagHidesNewUsersAndShowsChangedUsersAsTheyWere(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)}
	srv, pool := startFake(t, cognitotest.Options{NoQuotas: true, Now: clk.Now}, 20, 0)
	c := newClient(srv)
	srv.SetListingLag(3 * time.Second)
	set := func(name, given string) {
		t.Helper()
		_, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: &name,
			UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: &given}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	old := aws.ToString(listAll(t, c, pool, "")[0].Username)
	set(old, "Before")
	clk.Advance(5 * time.Second) // "Before" is now what listings show
	set(old, "After")
	clk.Advance(time.Second)
	set(old, "Later") // a second change within the lag: still "Before"
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String("fresh"),
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatal(err)
	}

	if _, listed := listedGivenName(t, c, pool, "fresh"); listed {
		t.Fatal("a user created within the lag is listed")
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("fresh")}); err != nil {
		t.Fatalf("AdminGetUser of the new user: %v", err)
	}
	if g, listed := listedGivenName(t, c, pool, old); !listed || g != "Before" {
		t.Fatalf("changed user listed=%v with given_name %q, want its state before the change", listed, g)
	}
	if n := len(listAll(t, c, pool, `given_name = "Later"`)); n != 0 {
		t.Fatalf("a filter on the new value matched %d users within the lag", n)
	}
	out, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &old})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := cognito.Attr(out.UserAttributes, "given_name"); g != "Later" {
		t.Fatalf("AdminGetUser reads given_name %q, want the current Later", g)
	}

	clk.Advance(3 * time.Second)
	if g, listed := listedGivenName(t, c, pool, old); !listed || g != "Later" {
		t.Fatalf("after the lag: listed=%v given_name %q, want Later", listed, g)
	}
	if _, listed := listedGivenName(t, c, pool, "fresh"); !listed {
		t.Fatal("after the lag the new user is still not listed")
	}
}
