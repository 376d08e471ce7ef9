package migrate

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// Every member UpdateUserPool takes is carried from DescribeUserPool's
// answer: one it omits is reset to its default (facts §26). An SDK upgrade
// that adds a member turns this red until the member is carried.
func TestUpdateCarriesEveryMember(t *testing.T) {
	in := reflect.TypeOf(cip.UpdateUserPoolInput{})
	pool := reflect.TypeOf(types.UserPoolType{})
	for i := 0; i < in.NumField(); i++ {
		f := in.Field(i)
		if !f.IsExported() || f.Name == "UserPoolId" || f.Name == "PoolName" {
			continue
		}
		if !slices.Contains(updatableMembers, f.Name) {
			t.Errorf("UpdateUserPoolInput.%s is not carried: add it to updatableMembers", f.Name)
		}
		if _, ok := pool.FieldByName(f.Name); !ok {
			t.Errorf("UpdateUserPoolInput.%s has no twin in UserPoolType: it cannot be read back, so an update resets it", f.Name)
		}
	}
	for _, m := range updatableMembers {
		if _, ok := in.FieldByName(m); !ok {
			t.Errorf("updatableMembers lists %s, which UpdateUserPoolInput lacks", m)
		}
	}
}

// A pool whose password policy has TemporaryPasswordValidityDays also
// answers the deprecated UnusedAccountValidityDays; UpdateUserPool refuses
// a request carrying both (facts §26), so the trigger change must leave the
// old one out and keep the policy's value.
func TestTriggerChangeLeavesOutTheDeprecatedValidityDays(t *testing.T) {
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	api := cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"),
		AdminCreateUserConfig: &types.AdminCreateUserConfigType{UnusedAccountValidityDays: 7},
		Policies:              &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(8), TemporaryPasswordValidityDays: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	pool := aws.ToString(out.UserPool.Id)
	if err := setTriggers(ctx, api, pool, "arn:aws:lambda:us-east-1:111122223333:function:m", ""); err != nil {
		t.Fatalf("set the triggers on a pool with both validity settings: %v", err)
	}
	d, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.UserPool.Policies.PasswordPolicy.TemporaryPasswordValidityDays; got != 3 {
		t.Errorf("TemporaryPasswordValidityDays %d after the trigger change, want 3", got)
	}
}
