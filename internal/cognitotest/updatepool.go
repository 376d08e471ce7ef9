package cognitotest

import (
	"encoding/json"
)

// UpdateUserPool (docs/cognito-facts.md §26).
//
// The API reference: "If you don't provide a value for an attribute, Amazon
// Cognito sets it to its default value"
// (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html;
// the same sentence in the SDK's service model, aws-sdk-go-v2
// service/cognitoidentityprovider api_op_UpdateUserPool.go). The developer
// guide's "Updating user pool and app client configuration"
// (cognito-user-pool-updating.html): "When you submit an update request with
// just one parameter, Amazon Cognito sets that parameter to the value of your
// choosing and sets all others to a default value. This can reset
// configurations including ... your Lambda triggers". So the fake replaces
// every updatable member: given ones take the request's value, omitted ones
// are removed (the fake's default is "not set"), DeletionProtection goes to
// INACTIVE. The current API reference excepts one: "With the exception of
// UserPoolTier, if you don't provide a value for an attribute, Amazon
// Cognito sets it to its default value": an omitted UserPoolTier is kept.
// Members UpdateUserPool does not have (schema, username
// attributes, aliases, case sensitivity: "Settings you can't change" on the
// same page) are untouched.

// updatableMembers are UpdateUserPoolInput's members besides UserPoolId
// (the SDK's api_op_UpdateUserPool.go, v1.67.0). PoolName and
// DeletionProtection are interpreted; the rest are kept as given.
var updatableMembers = []string{
	"AccountRecoverySetting", "AdminCreateUserConfig", "AutoVerifiedAttributes", "DeviceConfiguration",
	"EmailConfiguration", "EmailVerificationMessage", "EmailVerificationSubject", "IssuerConfiguration",
	"KeyConfiguration", "LambdaConfig", "MfaConfiguration", "Policies", "SmsAuthenticationMessage",
	"SmsConfiguration", "SmsVerificationMessage", "UserAttributeUpdateSettings", "UserPoolAddOns",
	"UserPoolTags", "UserPoolTier", "VerificationMessageTemplate",
}

func updateUserPool(s *Service, body []byte) (any, *apiError) {
	var in struct {
		UserPoolId         string
		PoolName           *string
		DeletionProtection string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := decode(body, &raw); err != nil {
		return nil, err
	}
	if in.PoolName != nil && (*in.PoolName == "" || len(*in.PoolName) > 128) {
		return nil, validationErr(*in.PoolName, "poolName", "Member must have length between 1 and 128")
	}
	if err := deprecatedValidityDays(raw); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.pool(in.UserPoolId)
	if err != nil {
		return nil, err
	}
	for _, k := range updatableMembers {
		v, ok := raw[k]
		if !ok && k == "UserPoolTier" {
			continue
		}
		if ok && string(v) != "null" {
			p.config[k] = v
		} else {
			delete(p.config, k)
		}
	}
	// PoolName: whether an omitted name is reset is not documented (a pool
	// must have a name); the fake keeps it (UNCONFIRMED, §26).
	if in.PoolName != nil {
		p.name = *in.PoolName
	}
	p.deletionProt = in.DeletionProtection == "ACTIVE"
	p.modified = s.now()
	return map[string]any{}, nil
}

// deprecatedValidityDays refuses AdminCreateUserConfig.UnusedAccountValidityDays
// next to PasswordPolicy.TemporaryPasswordValidityDays. The API reference
// (AdminCreateUserConfigType): "If you set a value for
// TemporaryPasswordValidityDays in PasswordPolicy, that value will be used,
// and UnusedAccountValidityDays will be no longer be an available parameter
// for that user pool"; a read-modify-write update that sends back both, as
// DescribeUserPool gives them, is refused with this message
// (pulumi/pulumi-aws-native#1256). Only the request is checked: whether a
// pool that has the policy refuses the old field alone is UNCONFIRMED
// (docs/cognito-facts.md §26).
func deprecatedValidityDays(raw map[string]json.RawMessage) *apiError {
	var in struct {
		AdminCreateUserConfig struct{ UnusedAccountValidityDays int }
		Policies              struct {
			PasswordPolicy struct{ TemporaryPasswordValidityDays int }
		}
	}
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &in)
	if in.AdminCreateUserConfig.UnusedAccountValidityDays != 0 && in.Policies.PasswordPolicy.TemporaryPasswordValidityDays != 0 {
		return errInvalidParameter("Please use TemporaryPasswordValidityDays in PasswordPolicy instead of UnusedAccountValidityDays")
	}
	return nil
}
