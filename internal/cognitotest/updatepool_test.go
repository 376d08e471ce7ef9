package cognitotest_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// UpdateUserPool resets every updatable member the request omits (API
// reference, docs/cognito-facts.md §26) and leaves the settings that cannot
// change after creation alone.
func TestUpdateUserPoolResetsWhatItOmits(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	api := newClient(srv)
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName:                 aws.String("p"),
		UsernameAttributes:       []types.UsernameAttributeType{types.UsernameAttributeTypeEmail},
		AutoVerifiedAttributes:   []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		EmailVerificationSubject: aws.String("Your code"),
		DeletionProtection:       types.DeletionProtectionTypeActive,
		UserPoolTags:             map[string]string{"team": "id"},
		UserPoolTier:             types.UserPoolTierTypePlus,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := out.UserPool.Id
	if _, err := api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: id,
		LambdaConfig: &types.LambdaConfigType{UserMigration: aws.String("arn:aws:lambda:us-east-1:111122223333:function:m")}}); err != nil {
		t.Fatal(err)
	}
	d, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: id})
	if err != nil {
		t.Fatal(err)
	}
	p := d.UserPool
	if p.LambdaConfig == nil || aws.ToString(p.LambdaConfig.UserMigration) == "" {
		t.Errorf("LambdaConfig = %+v, want the UserMigration trigger set", p.LambdaConfig)
	}
	if len(p.AutoVerifiedAttributes) != 0 || p.EmailVerificationSubject != nil || len(p.UserPoolTags) != 0 {
		t.Errorf("omitted members kept: auto-verified %v, subject %v, tags %v", p.AutoVerifiedAttributes, p.EmailVerificationSubject, p.UserPoolTags)
	}
	if p.DeletionProtection != types.DeletionProtectionTypeInactive {
		t.Errorf("DeletionProtection = %s, want INACTIVE (the default) when omitted", p.DeletionProtection)
	}
	if p.UserPoolTier != types.UserPoolTierTypePlus {
		t.Errorf("UserPoolTier = %q, want PLUS kept: the one member an omission does not reset", p.UserPoolTier)
	}
	if len(p.UsernameAttributes) != 1 || aws.ToString(p.Name) != "p" {
		t.Errorf("creation-only settings changed: username attributes %v, name %q", p.UsernameAttributes, aws.ToString(p.Name))
	}
}

// UpdateUserPool refuses the deprecated UnusedAccountValidityDays next to
// the password policy's TemporaryPasswordValidityDays (facts §26); either
// alone is taken.
func TestUpdateUserPoolRefusesBothValidityDays(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	api := newClient(srv)
	out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	old := &types.AdminCreateUserConfigType{UnusedAccountValidityDays: 7}
	policy := &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(8), TemporaryPasswordValidityDays: 7}}
	_, err = api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: out.UserPool.Id, AdminCreateUserConfig: old, Policies: policy})
	if code := apiCode(err); code != "InvalidParameterException" || !strings.Contains(err.Error(), "instead of UnusedAccountValidityDays") {
		t.Fatalf("both validity settings: %v, want InvalidParameterException naming UnusedAccountValidityDays", err)
	}
	for _, in := range []*cip.UpdateUserPoolInput{{AdminCreateUserConfig: old}, {Policies: policy}} {
		in.UserPoolId = out.UserPool.Id
		if _, err := api.UpdateUserPool(ctx, in); err != nil {
			t.Errorf("one validity setting refused: %v", err)
		}
	}
}
