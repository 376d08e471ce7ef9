package cognitotest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// The quota table's footnote: any single operation of UserPoolResourceUpdate
// (and the three other capped categories) is held to 5 RPS per user pool,
// under the category's 15 RPS for the account. Five CreateGroup calls on one
// pool within a second pass, the sixth is throttled; on another pool it
// passes, and so does another operation of the same category on the first.
func TestPerPoolCapThrottlesTheSixthCreateGroup(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	cognitotest.FreezeQuotaClock(srv.Service, time.Unix(1_700_000_000, 0))
	a := populate(t, srv, "a")
	b := populate(t, srv, "b")
	c := newClient(srv)
	create := func(pool string, i int) error {
		_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(pool), GroupName: aws.String(fmt.Sprintf("g%d", i))})
		return err
	}
	for i := range 5 {
		if err := create(a, i); err != nil {
			t.Fatalf("CreateGroup %d on one pool: %v", i+1, err)
		}
	}
	if err := create(a, 5); apiCode(err) != "TooManyRequestsException" {
		t.Fatalf("6th CreateGroup on one pool within a second: got %v, want TooManyRequestsException", err)
	}
	if err := create(b, 5); err != nil {
		t.Fatalf("6th CreateGroup, on a second pool: %v", err)
	}
	// The cap is per operation: GetGroup (UserPoolResourceRead) on the
	// first pool still passes.
	if _, err := c.GetGroup(ctx, &cip.GetGroupInput{UserPoolId: aws.String(a), GroupName: aws.String("g0")}); err != nil {
		t.Fatalf("GetGroup on the pool whose CreateGroup is capped: %v", err)
	}
	if st := srv.OpStats("CreateGroup"); st.Throttles != 1 {
		t.Fatalf("fake counted %d CreateGroup throttles, want 1", st.Throttles)
	}
}

// The cap scales with QuotaScale like every other rate: at ×2, ten calls
// pass and the eleventh is throttled.
func TestPerPoolCapScales(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 2})
	cognitotest.FreezeQuotaClock(srv.Service, time.Unix(1_700_000_000, 0))
	pool := populate(t, srv, "a")
	c := newClient(srv)
	for i := range 11 {
		_, err := c.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(pool), GroupName: aws.String(fmt.Sprintf("g%d", i))})
		switch {
		case i < 10 && err != nil:
			t.Fatalf("CreateGroup %d at ×2: %v", i+1, err)
		case i == 10 && apiCode(err) != "TooManyRequestsException":
			t.Fatalf("11th CreateGroup at ×2: got %v, want TooManyRequestsException", err)
		}
	}
}

func populate(t *testing.T, srv *cognitotest.Server, name string) string {
	t.Helper()
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: name, Users: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res.PoolID
}
