package cognitotest

import (
	"regexp"
	"strconv"
	"strings"
)

// schemaAttr is one entry of a pool's schema as DescribeUserPool returns it.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SchemaAttributeType.html
type schemaAttr struct {
	Name                       string        `json:"Name"`
	AttributeDataType          string        `json:"AttributeDataType"`
	DeveloperOnlyAttribute     bool          `json:"DeveloperOnlyAttribute"`
	Mutable                    bool          `json:"Mutable"`
	Required                   bool          `json:"Required"`
	StringAttributeConstraints *stringConstr `json:"StringAttributeConstraints,omitempty"`
	NumberAttributeConstraints *numberConstr `json:"NumberAttributeConstraints,omitempty"`
}

type stringConstr struct {
	MinLength string `json:"MinLength,omitempty"`
	MaxLength string `json:"MaxLength,omitempty"`
}

type numberConstr struct {
	MinValue string `json:"MinValue,omitempty"`
	MaxValue string `json:"MaxValue,omitempty"`
}

// maxAttrValueLen is the longest value any string attribute accepts.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html
const maxAttrValueLen = 2048

// standardSchema is the schema every new pool starts with: the OpenID Connect
// standard claims plus sub and identities, as DescribeUserPool lists them.
// https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html#cognito-user-pools-standard-attributes
func standardSchema() []schemaAttr {
	str := func(name string, mutable, required bool, min, max string) schemaAttr {
		return schemaAttr{Name: name, AttributeDataType: "String", Mutable: mutable, Required: required,
			StringAttributeConstraints: &stringConstr{MinLength: min, MaxLength: max}}
	}
	boolean := func(name string) schemaAttr {
		return schemaAttr{Name: name, AttributeDataType: "Boolean", Mutable: true}
	}
	return []schemaAttr{
		str("sub", false, true, "1", "2048"),
		str("name", true, false, "0", "2048"),
		str("given_name", true, false, "0", "2048"),
		str("family_name", true, false, "0", "2048"),
		str("middle_name", true, false, "0", "2048"),
		str("nickname", true, false, "0", "2048"),
		str("preferred_username", true, false, "0", "2048"),
		str("profile", true, false, "0", "2048"),
		str("picture", true, false, "0", "2048"),
		str("website", true, false, "0", "2048"),
		str("email", true, false, "0", "2048"),
		boolean("email_verified"),
		str("gender", true, false, "0", "2048"),
		str("birthdate", true, false, "10", "10"),
		str("zoneinfo", true, false, "0", "2048"),
		str("locale", true, false, "0", "2048"),
		str("phone_number", true, false, "0", "2048"),
		boolean("phone_number_verified"),
		str("address", true, false, "0", "2048"),
		{Name: "updated_at", AttributeDataType: "Number", Mutable: true, NumberAttributeConstraints: &numberConstr{MinValue: "0"}},
		{Name: "identities", AttributeDataType: "String", Mutable: true, StringAttributeConstraints: &stringConstr{}},
	}
}

var (
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
	phoneRE = regexp.MustCompile(`^\+[0-9]{4,15}$`)
)

// attrInput is an attribute as a request carries it.
type attrInput struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// checkWrite validates attributes a caller wants to write (create == true for
// AdminCreateUser and SignUp). It enforces what real Cognito enforces: the
// attribute exists in the schema, is not sub/identities, is mutable (after
// creation), fits its length and type.
func (p *pool) checkWrite(in []attrInput, create bool) *apiError {
	for _, a := range in {
		sa, ok := p.schemaByName[a.Name]
		if !ok || sa.Name == "identities" {
			return errInvalidParameter("Attribute does not exist in the schema.")
		}
		if a.Name == "sub" {
			return errInvalidParameter("Cannot modify the non-mutable attribute sub")
		}
		if !create && !sa.Mutable {
			return errInvalidParameter("Cannot modify an immutable attribute: %s", a.Name)
		}
		if err := checkValue(sa, a); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(sa *schemaAttr, a attrInput) *apiError {
	switch sa.AttributeDataType {
	case "Boolean":
		if a.Value != "true" && a.Value != "false" {
			return errInvalidParameter("Invalid value for boolean attribute %s", a.Name)
		}
		return nil
	case "Number":
		v, err := strconv.ParseFloat(a.Value, 64)
		if err != nil {
			return errInvalidParameter("Invalid number for attribute %s", a.Name)
		}
		if c := sa.NumberAttributeConstraints; c != nil {
			if min, err := strconv.ParseFloat(c.MinValue, 64); err == nil && v < min {
				return errInvalidParameter("Attribute %s is below its minimum value %s", a.Name, c.MinValue)
			}
			if max, err := strconv.ParseFloat(c.MaxValue, 64); err == nil && v > max {
				return errInvalidParameter("Attribute %s is above its maximum value %s", a.Name, c.MaxValue)
			}
		}
		return nil
	case "DateTime":
		if _, err := strconv.ParseInt(a.Value, 10, 64); err != nil {
			return errInvalidParameter("Invalid date for attribute %s", a.Name)
		}
		return nil
	}
	n := len([]rune(a.Value))
	if n > maxAttrValueLen {
		return errInvalidParameter("String attributes cannot have a length of more than %d", maxAttrValueLen)
	}
	if c := sa.StringAttributeConstraints; c != nil {
		if max, err := strconv.Atoi(c.MaxLength); err == nil && n > max {
			return errInvalidParameter("String attributes cannot have a length of more than %d", max)
		}
		if min, err := strconv.Atoi(c.MinLength); err == nil && n < min && n > 0 {
			return errInvalidParameter("String attributes cannot have a length of less than %d", min)
		}
	}
	switch a.Name {
	case "email":
		if !emailRE.MatchString(a.Value) {
			return errInvalidParameter("Invalid email address format.")
		}
	case "phone_number":
		if !phoneRE.MatchString(a.Value) {
			return errInvalidParameter("Invalid phone number format.")
		}
	}
	return nil
}

// checkRequired reports the first required attribute missing on create.
func (p *pool) checkRequired(attrs []attr) *apiError {
	for i := range p.schema {
		sa := &p.schema[i]
		if !sa.Required || sa.Name == "sub" {
			continue
		}
		found := false
		for _, a := range attrs {
			if a.Name == sa.Name && strings.TrimSpace(a.Value) != "" {
				found = true
				break
			}
		}
		if !found {
			return errInvalidParameter("Attributes did not conform to the schema: %s: The attribute is required", sa.Name)
		}
	}
	return nil
}
