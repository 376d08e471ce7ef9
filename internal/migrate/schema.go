package migrate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// sameSchema refuses an existing target that could not take the source's
// users as the function answers them (every attribute but sub, identities
// and cognito:*; internal/migration keep). The function hands Cognito the
// user's attributes at sign-in, and Cognito refuses the whole answer when
// one does not fit the target's schema (as SignUp refuses "Attribute does
// not exist in the schema"), so that user can never migrate (facts §35.1).
// A custom attribute cannot be deleted or modified once created
// (API_AddCustomAttributes), hence a refusal, not a repair. Start reads the source's schema, not its users: listing a
// large source costs the ListUsers quota, and a live source's users may
// take a value in any attribute before they migrate.
func sameSchema(src, dst *types.UserPoolType) error {
	have := map[string]types.SchemaAttributeType{}
	for _, a := range dst.SchemaAttributes {
		have[aws.ToString(a.Name)] = a
	}
	var why []string
	for _, s := range src.SchemaAttributes {
		name := aws.ToString(s.Name)
		if name == "sub" || name == "identities" {
			continue
		}
		d, ok := have[name]
		if !ok {
			why = append(why, fmt.Sprintf("%s (%s) is missing", name, s.AttributeDataType))
			continue
		}
		why = append(why, attrMismatch(name, s, d)...)
	}
	for _, d := range dst.SchemaAttributes {
		name := aws.ToString(d.Name)
		if aws.ToBool(d.Required) && name != "sub" && !requiredIn(src, name) {
			why = append(why, fmt.Sprintf("%s is required in the target and not in the source: source users without it cannot migrate", name))
		}
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the schema of target %s cannot take the source's users (Cognito refuses a migrated user whose attributes do not fit it, and a custom attribute cannot be changed or deleted once created): %s; add the missing custom attributes to the target with the source's type and mutability ('aws cognito-idp add-custom-attributes'), or use --create-pool to make a target from the source's configuration",
		ErrRefused, aws.ToString(dst.Id), strings.Join(why, "; "))
}

// attrMismatch says how the target's d cannot hold what the source's s
// holds: another type, immutable where the source lets users change it,
// developer-only on one side only, or tighter length or range limits.
func attrMismatch(name string, s, d types.SchemaAttributeType) []string {
	var why []string
	if s.AttributeDataType != d.AttributeDataType {
		why = append(why, fmt.Sprintf("%s is %s in the target and %s in the source", name, d.AttributeDataType, s.AttributeDataType))
	}
	if aws.ToBool(s.Mutable) && !aws.ToBool(d.Mutable) {
		why = append(why, fmt.Sprintf("%s is immutable in the target and mutable in the source: migrated users could never change it", name))
	}
	if aws.ToBool(s.DeveloperOnlyAttribute) != aws.ToBool(d.DeveloperOnlyAttribute) {
		why = append(why, fmt.Sprintf("%s is developer-only in one pool and not in the other", name))
	}
	if sc, dc := s.StringAttributeConstraints, d.StringAttributeConstraints; sc != nil && dc != nil {
		if num(dc.MaxLength, 2048) < num(sc.MaxLength, 2048) || num(dc.MinLength, 0) > num(sc.MinLength, 0) {
			why = append(why, fmt.Sprintf("%s takes lengths %s..%s in the target and %s..%s in the source", name, aws.ToString(dc.MinLength), aws.ToString(dc.MaxLength), aws.ToString(sc.MinLength), aws.ToString(sc.MaxLength)))
		}
	}
	if sc, dc := s.NumberAttributeConstraints, d.NumberAttributeConstraints; sc != nil && dc != nil {
		if bound(dc.MaxValue, sc.MaxValue, true) || bound(dc.MinValue, sc.MinValue, false) {
			why = append(why, fmt.Sprintf("%s takes values %s..%s in the target and %s..%s in the source", name, aws.ToString(dc.MinValue), aws.ToString(dc.MaxValue), aws.ToString(sc.MinValue), aws.ToString(sc.MaxValue)))
		}
	}
	return why
}

func requiredIn(p *types.UserPoolType, name string) bool {
	for _, a := range p.SchemaAttributes {
		if aws.ToString(a.Name) == name {
			return aws.ToBool(a.Required)
		}
	}
	return false
}

// num reads a numeric constraint; absent or unreadable is def.
func num(s *string, def int64) int64 {
	if n, err := strconv.ParseInt(aws.ToString(s), 10, 64); err == nil {
		return n
	}
	return def
}

// bound reports whether the target's limit dst is tighter than the
// source's src (an absent limit is no limit).
func bound(dst, src *string, upper bool) bool {
	if aws.ToString(dst) == "" {
		return false
	}
	if aws.ToString(src) == "" {
		return true
	}
	d, s := num(dst, 0), num(src, 0)
	if upper {
		return d < s
	}
	return d > s
}
