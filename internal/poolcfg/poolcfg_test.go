package poolcfg_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/google/go-cmp/cmp"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/poolcfg"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

func client(t *testing.T, srv *cognitotest.Server, region string) *cip.Client {
	t.Helper()
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: region, EndpointURL: srv.URL, Rates: rates, MaxBackoff: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	return cip.NewFromConfig(cfg)
}

// must unwraps a call's result in test set-up; a failure there is a broken
// test, reported with its stack.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

const preSignUp = "arn:aws:lambda:us-east-1:111111111111:function:pre-sign-up"

// richPool builds what the issue asks for: custom attributes of each type
// with constraints, MFA optional with TOTP, three clients with different
// flows and scopes, a resource server, an OIDC provider, groups, a domain.
func richPool(t *testing.T, api *cip.Client) string {
	t.Helper()
	str := types.AttributeDataTypeString
	out := must(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName: aws.String("acme-prod"),
		Schema: []types.SchemaAttributeType{
			{Name: aws.String("tenant_id"), AttributeDataType: str, Mutable: aws.Bool(false), StringAttributeConstraints: &types.StringAttributeConstraintsType{MinLength: aws.String("1"), MaxLength: aws.String("36")}},
			{Name: aws.String("score"), AttributeDataType: types.AttributeDataTypeNumber, Mutable: aws.Bool(true), NumberAttributeConstraints: &types.NumberAttributeConstraintsType{MinValue: aws.String("0"), MaxValue: aws.String("100")}},
			{Name: aws.String("beta"), AttributeDataType: types.AttributeDataTypeBoolean, Mutable: aws.Bool(true)},
			{Name: aws.String("joined"), AttributeDataType: types.AttributeDataTypeDatetime, Mutable: aws.Bool(true)},
			{Name: aws.String("email"), AttributeDataType: str, Required: aws.Bool(true), Mutable: aws.Bool(true)},
		},
		AliasAttributes:        []types.AliasAttributeType{types.AliasAttributeTypeEmail},
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail},
		UsernameConfiguration:  &types.UsernameConfigurationType{CaseSensitive: aws.Bool(false)},
		Policies: &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(12), RequireSymbols: true,
			TemporaryPasswordValidityDays: 3}},
		AccountRecoverySetting:   &types.AccountRecoverySettingType{RecoveryMechanisms: []types.RecoveryOptionType{{Name: types.RecoveryOptionNameTypeVerifiedEmail, Priority: aws.Int32(1)}}},
		AdminCreateUserConfig:    &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true},
		LambdaConfig:             &types.LambdaConfigType{PreSignUp: aws.String(preSignUp)},
		UserPoolTags:             map[string]string{"team": "identity", "env": "prod"},
		DeletionProtection:       types.DeletionProtectionTypeActive,
		EmailVerificationSubject: aws.String("Your code, with a comma, and \"quotes\""),
	}))
	pool := aws.ToString(out.UserPool.Id)
	must(api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &pool, MfaConfiguration: types.UserPoolMfaTypeOptional,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}))
	must(api.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &pool, Identifier: aws.String("https://api.acme.example"), Name: aws.String("api"),
		Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("read"), ScopeDescription: aws.String("read")}, {ScopeName: aws.String("write"), ScopeDescription: aws.String("write")}}}))
	must(api.CreateIdentityProvider(ctx, &cip.CreateIdentityProviderInput{UserPoolId: &pool, ProviderName: aws.String("Corp"), ProviderType: types.IdentityProviderTypeTypeOidc,
		ProviderDetails:  map[string]string{"client_id": "corp-client", "client_secret": "corp-secret", "oidc_issuer": "https://login.corp.example", "authorize_scopes": "openid email", "attributes_request_method": "GET"},
		AttributeMapping: map[string]string{"email": "email"}}))
	for _, c := range []cip.CreateUserPoolClientInput{
		{ClientName: aws.String("web"), AllowedOAuthFlows: []types.OAuthFlowType{types.OAuthFlowTypeCode}, AllowedOAuthFlowsUserPoolClient: true,
			AllowedOAuthScopes: []string{"openid", "email", "https://api.acme.example/read"}, CallbackURLs: []string{"https://app.acme.example/callback"},
			SupportedIdentityProviders: []string{"COGNITO", "Corp"}},
		{ClientName: aws.String("backend"), GenerateSecret: true, AllowedOAuthFlows: []types.OAuthFlowType{types.OAuthFlowTypeClientCredentials},
			AllowedOAuthFlowsUserPoolClient: true, AllowedOAuthScopes: []string{"https://api.acme.example/write"}},
		{ClientName: aws.String("mobile"), ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserSrpAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
			RefreshTokenValidity: 30, PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled},
	} {
		c.UserPoolId = &pool
		must(api.CreateUserPoolClient(ctx, &c))
	}
	must(api.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &pool, Domain: aws.String("acme-auth")}))
	must(api.SetUICustomization(ctx, &cip.SetUICustomizationInput{UserPoolId: &pool, CSS: aws.String(".banner-customizable { background: #123456 }")}))
	for i, g := range []string{"admins", "staff"} {
		must(api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String(g), Precedence: aws.Int32(int32(i))}))
	}
	for _, u := range []string{"ann", "ben", "cid"} {
		must(api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: aws.String(u), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(u + "@acme.example")}, {Name: aws.String("email_verified"), Value: aws.String("true")},
				{Name: aws.String("custom:tenant_id"), Value: aws.String("t-" + u)}, {Name: aws.String("custom:score"), Value: aws.String("42")}}}))
		must(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: aws.String(u), Password: aws.String("Long-enough-pass-1!"), Permanent: true}))
	}
	must(api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: aws.String("ann"), GroupName: aws.String("admins")}))
	return pool
}

func TestRecreateAPoolInAnotherRegion(t *testing.T) {
	srcSrv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "us-east-1", AccountID: "111111111111"})
	dstSrv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "eu-west-1", AccountID: "222222222222"})
	src, dst := client(t, srcSrv, "us-east-1"), client(t, dstSrv, "eu-west-1")
	pool := richPool(t, src)

	dir := t.TempDir()
	store, _ := storage.NewDir(filepath.Join(dir, "repo"))
	r := repo.New(store)
	m := must(backup.Run(ctx, src, store, backup.Options{PoolID: pool}, nil))
	cfg := must(r.Pool(ctx, m))
	for _, raw := range append(append([]json.RawMessage{}, cfg.IdentityProviders...), cfg.Clients...) {
		if strings.Contains(string(raw), "corp-secret") || strings.Contains(string(raw), `"ClientSecret"`) {
			t.Fatalf("the snapshot holds a secret: %s", raw)
		}
	}

	// Without a map: the OIDC provider's secret is missing, the trigger is
	// in the old Region and account. Both are reported, nothing fails.
	res := must(poolcfg.Create(ctx, dst, cfg, "acme-dry", poolcfg.Map{Domain: "-"}))
	var notes []string
	for _, it := range res.NotCarried {
		notes = append(notes, it.What+": "+it.Reason)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"identity provider Corp: not created: its client_secret is never stored", "LambdaConfig.PreSignUp: " + preSignUp + " is in Region \"us-east-1\"", "app client web: no longer offers sign-in with Corp"} {
		if !strings.Contains(joined, want) {
			t.Errorf("not reported: %q\nreport:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "corp-secret") {
		t.Error("the report holds a secret")
	}

	// With a map: everything is carried.
	newTrigger := "arn:aws:lambda:eu-west-1:222222222222:function:pre-sign-up"
	res = must(poolcfg.Create(ctx, dst, cfg, "acme-prod", poolcfg.Map{
		Replace:         map[string]string{preSignUp: newTrigger},
		ProviderSecrets: map[string]map[string]string{"Corp": {"client_secret": "corp-secret"}},
	}))
	if len(res.NotCarried) != 0 {
		t.Errorf("not carried with a complete map: %+v", res.NotCarried)
	}
	if res.OldPool != pool || !strings.HasPrefix(res.NewPool, "eu-west-1_") || res.Domain != "acme-auth" || len(res.Clients) != 3 {
		t.Fatalf("result %+v", res)
	}
	for _, c := range res.Clients {
		if c.Old == c.New || c.New == "" || c.SecretGenerated != (c.Name == "backend") {
			t.Errorf("client mapping %+v", c)
		}
	}
	rep := must(restore.Run(ctx, dst, r, m, restore.Options{Target: res.NewPool, StatePath: filepath.Join(dir, "state"), AllowTriggers: true}, nil))
	if rep.UsersCreate != 3 || len(rep.NotRestored) != 0 {
		t.Errorf("users: %+v", rep)
	}

	// The round trip: a backup of the new pool differs from the old one
	// only where documented (ids, names, dates, secrets' values) and where
	// the map said so.
	store2, _ := storage.NewDir(filepath.Join(dir, "repo2"))
	m2 := must(backup.Run(ctx, dst, store2, backup.Options{PoolID: res.NewPool}, nil))
	d := must(diff.Compare(ctx, diff.SnapshotSource{Repo: r, Manifest: m}, diff.SnapshotSource{Repo: repo.New(store2), Manifest: m2},
		diff.Options{CrossPool: true, IgnoreAttributes: []string{"sub"}}))
	if diff := cmp.Diff(&diff.PoolReport{Settings: []string{"LambdaConfig"}}, d.Pool); diff != "" {
		t.Errorf("configuration differs beyond the mapped trigger (-want +got):\n%s", diff)
	}
	if len(d.UsersAdded)+len(d.UsersRemoved)+len(d.GroupsAdded)+len(d.GroupsRemoved)+len(d.GroupsChanged)+len(d.MembershipsAdded)+len(d.MembershipsRemoved) != 0 {
		t.Errorf("users or groups differ: %+v", d)
	}
	for _, c := range d.UsersChanged {
		if !slices.Equal(c.Status, nil) || len(c.Attributes) != 0 {
			t.Errorf("user %s changed: %+v", c.Username, c)
		}
	}

	// The domain prefix is now taken in eu-west-1: a third copy reports it.
	res3 := must(poolcfg.Create(ctx, dst, cfg, "acme-third", poolcfg.Map{ProviderSecrets: map[string]map[string]string{"Corp": {"client_secret": "x"}}, Replace: map[string]string{preSignUp: newTrigger}}))
	if len(res3.NotCarried) != 1 || !strings.Contains(res3.NotCarried[0].Reason, "prefixes are unique per Region") {
		t.Errorf("taken domain: %+v", res3.NotCarried)
	}
}

// With backup --include-secrets (into an encrypted repository), a recreated
// pool keeps the provider's and the app clients' secrets: applications need
// only the new client ids.
func TestRecreateKeepsSecretsWhenTheSnapshotHasThem(t *testing.T) {
	srcSrv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "us-east-1"})
	dstSrv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "eu-west-1"})
	src, dst := client(t, srcSrv, "us-east-1"), client(t, dstSrv, "eu-west-1")
	pool := richPool(t, src)
	store, _ := storage.NewDir(t.TempDir())
	m := must(backup.Run(ctx, src, store, backup.Options{PoolID: pool, IncludeSecrets: true}, nil))
	cfg := must(repo.New(store).Pool(ctx, m))
	res := must(poolcfg.Create(ctx, dst, cfg, "acme-prod", poolcfg.Map{Domain: "-",
		Replace: map[string]string{preSignUp: "arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up"}}))
	if len(res.NotCarried) != 0 {
		t.Fatalf("not carried: %+v", res.NotCarried)
	}
	for _, c := range res.Clients {
		if c.Name != "backend" {
			continue
		}
		old := must(src.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: &c.Old}))
		now := must(dst.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &res.NewPool, ClientId: &c.New}))
		if !c.SecretKept || aws.ToString(old.UserPoolClient.ClientSecret) == "" || aws.ToString(old.UserPoolClient.ClientSecret) != aws.ToString(now.UserPoolClient.ClientSecret) {
			t.Errorf("backend's secret was not kept: %+v", c)
		}
	}
	p := must(dst.DescribeIdentityProvider(ctx, &cip.DescribeIdentityProviderInput{UserPoolId: &res.NewPool, ProviderName: aws.String("Corp")}))
	if p.IdentityProvider.ProviderDetails["client_secret"] != "corp-secret" {
		t.Error("the provider's secret was not kept")
	}
}
