package cognitotest_test

import (
	"slices"
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

// listedGivenNames returns the given_name of every entry a listing by
// username shows (none when the user is not listed), sorted.
func listedGivenNames(t *testing.T, c *cip.Client, pool, username string) []string {
	t.Helper()
	var out []string
	for _, u := range listAll(t, c, pool, "username = "+cognito.QuoteFilterValue(username)) {
		v, _ := cognito.Attr(u.Attributes, "given_name")
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// With a listing lag, a new user is missing from ListUsers, and a changed
// user is listed (and filtered) as it was and, at a second place, as it is,
// while AdminGetUser reads the current state; once the lag has passed the
// listing shows the user once, as it is.
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

	if got := listedGivenNames(t, c, pool, "fresh"); len(got) != 0 {
		t.Fatal("a user created within the lag is listed")
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String("fresh")}); err != nil {
		t.Fatalf("AdminGetUser of the new user: %v", err)
	}
	if got := listedGivenNames(t, c, pool, old); !slices.Equal(got, []string{"Before", "Later"}) {
		t.Fatalf("changed user listed as %q within the lag, want its state before the change and its current one", got)
	}
	if n := len(listAll(t, c, pool, `given_name = "Before"`)); n != 1 {
		t.Fatalf("a filter on the old value matched %d users within the lag, want 1", n)
	}
	out, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: &old})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := cognito.Attr(out.UserAttributes, "given_name"); g != "Later" {
		t.Fatalf("AdminGetUser reads given_name %q, want the current Later", g)
	}

	clk.Advance(3 * time.Second)
	if got := listedGivenNames(t, c, pool, old); !slices.Equal(got, []string{"Later"}) {
		t.Fatalf("after the lag listed as %q, want once as Later", got)
	}
	if got := listedGivenNames(t, c, pool, "fresh"); len(got) != 1 {
		t.Fatal("after the lag the new user is not listed once")
	}
}
