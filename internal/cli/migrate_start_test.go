package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// targetSchema creates an existing target that signs in as the source does
// (case-insensitive usernames) with the source's custom attributes as edit
// leaves them (edit may drop one by returning false).
func (w *migrationWorld) targetSchema(t *testing.T, name string, edit func(a *types.SchemaAttributeType) bool) string {
	t.Helper()
	ctx := context.Background()
	d, err := w.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &w.source})
	if err != nil {
		t.Fatal(err)
	}
	var schema []types.SchemaAttributeType
	for _, a := range d.UserPool.SchemaAttributes {
		if short, ok := strings.CutPrefix(aws.ToString(a.Name), "custom:"); ok && edit(&a) {
			a.Name = aws.String(short)
			schema = append(schema, a)
		}
	}
	out, err := w.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name), Schema: schema,
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.UserPool.Id)
}

// TestMigrateStartChecksTargetSchema guards start's schema check (review
// finding 3): an existing target whose schema cannot take the source's
// attributes is refused before any write, naming each attribute; a target
// with the source's schema is accepted.
func TestMigrateStartChecksTargetSchema(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	bare := w.targetSchema(t, "bare", func(*types.SchemaAttributeType) bool { return false })
	differs := w.targetSchema(t, "differs", func(a *types.SchemaAttributeType) bool {
		switch aws.ToString(a.Name) {
		case "custom:plan":
			a.Mutable = aws.Bool(false)
		case "custom:score":
			a.AttributeDataType, a.NumberAttributeConstraints = types.AttributeDataTypeString, nil
			a.StringAttributeConstraints = &types.StringAttributeConstraintsType{MinLength: aws.String("0"), MaxLength: aws.String("2048")}
		case "custom:tenant_id":
			a.StringAttributeConstraints.MaxLength = aws.String("8")
		}
		return true
	})
	required, err := w.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("required"),
		UsernameConfiguration: &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		Schema:                []types.SchemaAttributeType{{Name: aws.String("family_name"), AttributeDataType: types.AttributeDataTypeString, Required: aws.Bool(true), Mutable: aws.Bool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, target string
		want         []string
	}{
		{"missing custom attributes", bare, []string{"custom:tenant_id (String) is missing", "custom:plan (String) is missing", "custom:score (Number) is missing", "custom:legacy_sub (String) is missing", "custom:notes (String) is missing"}},
		{"other type, mutability, length", differs, []string{"custom:score is String in the target and Number in the source", "custom:plan is immutable in the target and mutable in the source", "custom:tenant_id takes lengths 0..8 in the target and 0..64 in the source"}},
		{"required only in the target", aws.ToString(required.UserPool.Id), []string{"family_name is required in the target and not in the source"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := w.srv.OpStats("UpdateUserPool").Calls + w.srv.OpStats("CreateUserPoolClient").Calls + w.srv.OpStats("CreateGroup").Calls
			code, out, errOut := run(t, ctx, w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--to", c.target, "--function-arn", fnARN)...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s\n%s", code, out, errOut)
			}
			for _, want := range c.want {
				if !strings.Contains(errOut, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, errOut)
				}
			}
			if after := w.srv.OpStats("UpdateUserPool").Calls + w.srv.OpStats("CreateUserPoolClient").Calls + w.srv.OpStats("CreateGroup").Calls; after != before {
				t.Errorf("a refused start wrote (%d writes)", after-before)
			}
		})
	}
	same := w.targetSchema(t, "same", func(*types.SchemaAttributeType) bool { return true })
	if code, out, errOut := run(t, ctx, w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--to", same, "--function-arn", fnARN, "--dry-run")...); code == 1 || code == 2 {
		t.Errorf("a target with the source's schema: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestMigrateStartDryRunSaysWouldStart guards the dry run's exit-3 message
// (review minor): a dry run that would not carry an item says what it
// would do, never that it started.
func TestMigrateStartDryRunSaysWouldStart(t *testing.T) {
	isolateAWS(t)
	w := newMigrationWorld(t)
	// The populated source's Google provider has a secret no read returns:
	// without --map it is not carried.
	code, out, errOut := run(t, context.Background(), w.args("migrate", "start", "--repo", t.TempDir()+"/mrepo", "--from", w.source, "--create-pool", "new", "--function-arn", fnARN, "--dry-run")...)
	if code != 3 || !strings.Contains(errOut, "would start; 1 configuration item(s) not carried into the pool it would create") || strings.Contains(errOut+out, "started") {
		t.Errorf("dry run without a map: exit %d, want 3 saying it would start\n%s\n%s", code, out, errOut)
	}
}
