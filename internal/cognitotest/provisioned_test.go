package cognitotest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

func limitDef(category string) *types.LimitDefinitionType {
	return &types.LimitDefinitionType{LimitClass: types.LimitClassApiCategory, Attributes: map[string]string{"Category": category}}
}

// GetProvisionedLimit answers the default as both values until
// UpdateProvisionedLimit raises an adjustable category (the quota page's
// example: UserAuthentication 120/120, then 300/120); values outside
// [default, account max] and non-adjustable categories are refused.
func TestProvisionedLimitsReadAndUpdate(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	c := newClient(srv)
	got, err := c.GetProvisionedLimit(ctx, &cip.GetProvisionedLimitInput{LimitDefinition: limitDef("UserAuthentication")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Limit.ProvisionedLimitValue != 120 || got.Limit.FreeLimitValue != 120 || got.Limit.LimitDefinition.Attributes["Category"] != "UserAuthentication" {
		t.Fatalf("unset UserAuthentication: %+v", got.Limit)
	}
	up, err := c.UpdateProvisionedLimit(ctx, &cip.UpdateProvisionedLimitInput{LimitDefinition: limitDef("UserAuthentication"), RequestedLimitValue: 300})
	if err != nil {
		t.Fatal(err)
	}
	if up.Limit.ProvisionedLimitValue != 300 || up.Limit.FreeLimitValue != 120 {
		t.Fatalf("updated UserAuthentication: %+v", up.Limit)
	}
	if got, _ := c.GetProvisionedLimit(ctx, &cip.GetProvisionedLimitInput{LimitDefinition: limitDef("UserAuthentication")}); got == nil || got.Limit.ProvisionedLimitValue != 300 {
		t.Fatalf("GetProvisionedLimit after the update: %+v", got)
	}
	for _, tc := range []struct {
		category string
		value    int32
		code     string
	}{
		{"UserList", 60, "InvalidParameterException"},               // not adjustable
		{"UserPoolResourceUpdate", 30, "InvalidParameterException"}, // not adjustable
		{"NoSuchCategory", 60, "InvalidParameterException"},         // unknown
		{"UserRead", 60, "InvalidParameterException"},               // below the default
		{"UserRead", 120 * 11, "ServiceQuotaExceededException"},     // above the account max
	} {
		_, err := c.UpdateProvisionedLimit(ctx, &cip.UpdateProvisionedLimitInput{LimitDefinition: limitDef(tc.category), RequestedLimitValue: tc.value})
		if apiCode(err) != tc.code {
			t.Errorf("UpdateProvisionedLimit %s=%d: %v, want %s", tc.category, tc.value, err, tc.code)
		}
	}
	if _, err := c.GetProvisionedLimit(ctx, &cip.GetProvisionedLimitInput{LimitDefinition: limitDef("UserList")}); apiCode(err) != "InvalidParameterException" {
		t.Errorf("GetProvisionedLimit of a non-adjustable category: %v, want InvalidParameterException", err)
	}
}

// The fake throttles at the provisioned value, at once: UserRead allows a
// burst of 120 AdminGetUser calls at the default and 240 once provisioned to
// 240 (per-user quotas stay out of it: every call names another user, and
// the quota is spent before the fake looks the user up).
func TestThrottlingFollowsTheProvisionedLimit(t *testing.T) {
	srv, pool := startFake(t, cognitotest.Options{}, 1, 0)
	advance := cognitotest.FreezeQuotaClock(srv.Service, time.Unix(1_700_000_000, 0))
	c := newClient(srv)
	next := 0
	burst := func() int { // calls until the first throttle
		for n := 0; ; n++ {
			next++
			_, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(pool), Username: aws.String(fmt.Sprintf("nobody-%d", next))})
			if apiCode(err) == "TooManyRequestsException" {
				return n
			}
			if err != nil && apiCode(err) != "UserNotFoundException" {
				t.Fatal(err)
			}
		}
	}
	if n := burst(); n != 120 {
		t.Fatalf("UserRead at the default let %d calls through in one instant, want 120", n)
	}
	if _, err := c.UpdateProvisionedLimit(ctx, &cip.UpdateProvisionedLimitInput{LimitDefinition: limitDef("UserRead"), RequestedLimitValue: 240}); err != nil {
		t.Fatal(err)
	}
	advance(time.Second) // refill
	if n := burst(); n != 240 {
		t.Fatalf("UserRead provisioned to 240 let %d calls through in one instant, want 240", n)
	}
}
