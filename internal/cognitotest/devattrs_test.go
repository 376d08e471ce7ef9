package cognitotest_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// A developer-only attribute is named dev:custom:<name> (the API
// reference's CreateUserPool example), admins read and write it in that
// form, and a user's own SignUp may not write it.
func TestDeveloperOnlyAttributes(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	c := newClient(srv)
	out, err := c.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("dev"), Schema: []types.SchemaAttributeType{{
		Name: aws.String("mydev"), AttributeDataType: types.AttributeDataTypeString, DeveloperOnlyAttribute: aws.Bool(true), Mutable: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	pool := out.UserPool.Id
	found := false
	for _, sa := range out.UserPool.SchemaAttributes {
		if aws.ToString(sa.Name) == "dev:custom:mydev" && aws.ToBool(sa.DeveloperOnlyAttribute) {
			found = true
		}
	}
	if !found {
		t.Fatalf("schema lacks dev:custom:mydev: %+v", out.UserPool.SchemaAttributes)
	}
	dev := []types.AttributeType{{Name: aws.String("dev:custom:mydev"), Value: aws.String("v1")}}
	if _, err := c.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: pool, Username: aws.String("u1"), UserAttributes: dev, MessageAction: types.MessageActionTypeSuppress}); err != nil {
		t.Fatalf("admin write of a developer-only attribute: %v", err)
	}
	if _, err := c.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: pool, Username: aws.String("u1"),
		UserAttributes: []types.AttributeType{{Name: aws.String("dev:custom:mydev"), Value: aws.String("v2")}}}); err != nil {
		t.Fatalf("admin update of a developer-only attribute: %v", err)
	}
	g, err := c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool, Username: aws.String("u1")})
	if err != nil || attrMap(g.UserAttributes)["dev:custom:mydev"] != "v2" {
		t.Fatalf("AdminGetUser: %v %+v", err, g)
	}
	cl, err := c.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: pool, ClientName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SignUp(ctx, &cip.SignUpInput{ClientId: cl.UserPoolClient.ClientId, Username: aws.String("self"), Password: aws.String("Passw0rd!Passw0rd"), UserAttributes: dev})
	if apiCode(err) != "NotAuthorizedException" {
		t.Fatalf("SignUp writing a developer-only attribute: %v", err)
	}
	hdr, err := c.GetCSVHeader(ctx, &cip.GetCSVHeaderInput{UserPoolId: pool})
	if err != nil || slices.Contains(hdr.CSVHeader, "dev:custom:mydev") {
		t.Fatalf("CSV header %v (%v): the fake leaves developer-only attributes out", hdr.CSVHeader, err)
	}
}

// Populate's DevAttribute gives every local user a developer-only value.
func TestPopulateDevAttribute(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 50, DevAttribute: true})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(srv)
	out, err := c.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &res.PoolID})
	if err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, u := range out.Users {
		if attrMap(u.Attributes)[cognitotest.DevAttributeName] != "" {
			with++
		}
	}
	if with == 0 {
		t.Fatal("no listed user has the developer-only attribute")
	}
}
