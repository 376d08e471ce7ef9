package migrate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// updatableMembers are the UserPoolType members UpdateUserPool takes back
// under the same name (UpdateUserPoolInput, SDK v1.67.0). UpdateUserPool
// resets every member a request omits to its default (API reference,
// facts §26), so a change to one setting is a read-modify-write carrying
// all of them. Name is carried as PoolName.
var updatableMembers = []string{
	"AccountRecoverySetting", "AdminCreateUserConfig", "AutoVerifiedAttributes", "DeletionProtection",
	"DeviceConfiguration", "EmailConfiguration", "EmailVerificationMessage", "EmailVerificationSubject",
	"IssuerConfiguration", "KeyConfiguration", "LambdaConfig", "MfaConfiguration", "Policies", "SmsAuthenticationMessage", "SmsConfiguration",
	"SmsVerificationMessage", "UserAttributeUpdateSettings", "UserPoolAddOns", "UserPoolTags",
	"UserPoolTier", "VerificationMessageTemplate",
}

// updateInput is the UpdateUserPool request that leaves p as it is.
func updateInput(p *types.UserPoolType) (*cip.UpdateUserPoolInput, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	keep := map[string]json.RawMessage{}
	for _, k := range updatableMembers {
		if v, ok := all[k]; ok && string(v) != "null" && string(v) != `""` {
			keep[k] = v
		}
	}
	b, err = json.Marshal(keep)
	if err != nil {
		return nil, err
	}
	in := &cip.UpdateUserPoolInput{}
	if err := json.Unmarshal(b, in); err != nil {
		return nil, err
	}
	in.UserPoolId, in.PoolName = p.Id, p.Name
	dropDeprecatedValidity(in)
	return in, nil
}

// dropDeprecatedValidity leaves out AdminCreateUserConfig's
// UnusedAccountValidityDays when the password policy has
// TemporaryPasswordValidityDays: DescribeUserPool gives both, the policy's
// value is the one in force, and UpdateUserPool refuses a request carrying
// both (API reference, AdminCreateUserConfigType; facts §26).
func dropDeprecatedValidity(in *cip.UpdateUserPoolInput) {
	if in.AdminCreateUserConfig == nil || in.Policies == nil || in.Policies.PasswordPolicy == nil {
		return
	}
	if in.Policies.PasswordPolicy.TemporaryPasswordValidityDays != 0 {
		in.AdminCreateUserConfig.UnusedAccountValidityDays = 0
	}
}

// slot reads one LambdaConfig slot.
func slot(lc *types.LambdaConfigType, name string) string {
	if lc == nil {
		return ""
	}
	switch name {
	case SlotUserMigration:
		return aws.ToString(lc.UserMigration)
	case SlotPostAuthentication:
		return aws.ToString(lc.PostAuthentication)
	}
	return ""
}

// checkSlots refuses when either slot holds another function than fn.
func checkSlots(lc *types.LambdaConfigType, fn, pool string) error {
	for _, s := range []string{SlotUserMigration, SlotPostAuthentication} {
		if cur := slot(lc, s); cur != "" && cur != fn {
			return fmt.Errorf("%w: the %s trigger of %s is already %s: the migration function serves both UserMigration and PostAuthentication; remove that trigger (or chain it inside your own function) and run start again", ErrRefused, s, pool, cur)
		}
	}
	return nil
}

// setTriggers points both slots of pool at fn (fn "" removes them) and,
// when started is not empty and the pool has no StartTag yet, tags the pool
// with it, in one read-modify-write UpdateUserPool.
func setTriggers(ctx context.Context, api PoolAPI, pool, fn, started string) error {
	p, err := describe(ctx, api, pool)
	if err != nil {
		return err
	}
	in, err := updateInput(p)
	if err != nil {
		return fmt.Errorf("carry the settings of %s: %w", pool, err)
	}
	if in.LambdaConfig == nil {
		in.LambdaConfig = &types.LambdaConfigType{}
	}
	in.LambdaConfig.UserMigration, in.LambdaConfig.PostAuthentication = nonEmpty(fn), nonEmpty(fn)
	if started != "" {
		if _, ok := in.UserPoolTags[StartTag]; !ok {
			if in.UserPoolTags == nil {
				in.UserPoolTags = map[string]string{}
			}
			in.UserPoolTags[StartTag] = started
		}
	}
	if _, err := api.UpdateUserPool(ctx, in); err != nil {
		return fmt.Errorf("update the triggers of %s: %w", pool, err)
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
