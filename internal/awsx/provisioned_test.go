package awsx_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

type notices struct {
	mu    sync.Mutex
	lines []string
}

func (n *notices) add(s string) { n.mu.Lock(); n.lines = append(n.lines, s); n.mu.Unlock() }

func provision(t *testing.T, c *cip.Client, cat quota.Category, v int32) {
	t.Helper()
	_, err := c.UpdateProvisionedLimit(ctx, &cip.UpdateProvisionedLimitInput{RequestedLimitValue: v, LimitDefinition: &types.LimitDefinitionType{
		LimitClass: types.LimitClassApiCategory, Attributes: map[string]string{"Category": string(cat)}}})
	if err != nil {
		t.Fatal(err)
	}
}

// An account that raised UserRead to 240 is paced at 240 (× --max-share)
// from the first AdminGetUser on; UserCreation, never called, is never read;
// a category --quota-rate sets is not read either.
func TestPacingFollowsTheProvisionedLimit(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 1})
	var n notices
	lim := awsx.NewLimiter(quota.Rates{quota.UserResourceRead: 7}, 0.5)
	// The same limiter paces the update: LimitManagement is 1 RPS.
	provision(t, client(t, srv, awsx.Options{Limiter: lim}), quota.UserRead, 240)
	srv.ResetStats()
	c := client(t, srv, awsx.Options{Limiter: lim, Rates: quota.Rates{quota.UserResourceRead: 7}, Notice: n.add,
		ReadProvisioned: []quota.Category{quota.UserCreation, quota.UserRead, quota.UserResourceRead}})
	if got := lim.Rate(quota.UserRead); got != 60 {
		t.Fatalf("UserRead paced at %v before its first call, want the default × share (60)", got)
	}
	if srv.OpStats("GetProvisionedLimit").Calls != 0 {
		t.Fatal("limits were read before any call needed them")
	}
	if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &res.PoolID, Username: aws.String("nobody")}); code(err) != "UserNotFoundException" {
		t.Fatal(err)
	}
	if _, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &res.PoolID, Username: aws.String("nobody")}); code(err) != "UserNotFoundException" {
		t.Fatal(err)
	}
	if got := lim.Rate(quota.UserRead); got != 120 {
		t.Errorf("UserRead provisioned to 240 paced at %v, want 240 × share 0.5", got)
	}
	if got := lim.Rate(quota.UserResourceRead); got != 3.5 {
		t.Errorf("UserResourceRead set by --quota-rate paced at %v, want 7 × 0.5", got)
	}
	if st := srv.OpStats("GetProvisionedLimit"); st.Calls != 1 || st.Throttles != 0 {
		t.Errorf("%d GetProvisionedLimit calls (%d throttled), want 1 (UserRead only), paced", st.Calls, st.Throttles)
	}
	if len(n.lines) != 0 {
		t.Errorf("notices: %q", n.lines)
	}
}

// AccessDenied, or an endpoint that does not know GetProvisionedLimit,
// leaves every category at its default with one notice per run, however
// many categories are used; the calls themselves go on.
func TestUnreadableLimitsFallBackWithOneNotice(t *testing.T) {
	for _, errCode := range []string{"AccessDeniedException", "UnknownOperationException"} {
		t.Run(errCode, func(t *testing.T) {
			srv := cognitotest.NewTestServer(t, cognitotest.Options{})
			res, _ := srv.Populate(cognitotest.PopulateOptions{Users: 1})
			srv.InjectFault(cognitotest.Fault{Operation: "GetProvisionedLimit", Kind: cognitotest.FaultError, Code: errCode})
			var n notices
			lim := awsx.NewLimiter(nil, 1)
			c := client(t, srv, awsx.Options{Limiter: lim, Notice: n.add,
				ReadProvisioned: []quota.Category{quota.UserRead, quota.UserResourceRead}})
			for range 3 {
				if _, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &res.PoolID, Username: aws.String("nobody")}); code(err) != "UserNotFoundException" {
					t.Fatal(err)
				}
				if _, err := c.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: &res.PoolID, Username: aws.String("nobody")}); code(err) != "UserNotFoundException" {
					t.Fatal(err)
				}
			}
			if len(n.lines) != 1 || !strings.Contains(n.lines[0], errCode) || !strings.Contains(n.lines[0], "default rates") {
				t.Fatalf("notices %q, want one naming %s", n.lines, errCode)
			}
			if lim.Rate(quota.UserRead) != 120 || lim.Rate(quota.UserResourceRead) != 50 {
				t.Fatalf("rates after a refused read: UserRead %v, UserResourceRead %v", lim.Rate(quota.UserRead), lim.Rate(quota.UserResourceRead))
			}
			if got := srv.OpStats("GetProvisionedLimit").Calls; got != 1 {
				t.Fatalf("%d GetProvisionedLimit calls after a refusal, want 1", got)
			}
		})
	}
}
