package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/poolcfg"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// ErrRefused is returned when start would leave users unable to sign in
// the way they did, or would take a trigger slot in use; nothing was
// written.
var ErrRefused = errors.New("refused")

// SourceAPI is what start calls on the source pool.
type SourceAPI interface {
	backup.PoolConfigAPI
	CreateUserPoolClient(ctx context.Context, in *cip.CreateUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.CreateUserPoolClientOutput, error)
}

// TargetAPI is what start calls on the target pool.
type TargetAPI interface {
	poolcfg.API
	PoolAPI
	cognito.GroupLister
	ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
	CreateGroup(ctx context.Context, in *cip.CreateGroupInput, optFns ...func(*cip.Options)) (*cip.CreateGroupOutput, error)
}

// StartOptions says what start does.
type StartOptions struct {
	Source string
	// Target is an existing pool; CreatePool the name of one to create from
	// the source's configuration. Exactly one is set.
	Target, CreatePool string
	Function           string // the migration function's ARN
	// SourceClient is an app client of the source allowing
	// ALLOW_ADMIN_USER_PASSWORD_AUTH; "" finds or creates ClientName.
	SourceClient string
	SourceRegion string
	// SourceRole is a role in the source's account the function assumes
	// (COGVAULT_MIGRATION_SOURCE_ROLE_ARN); Repo the repository it records
	// migrations in (COGVAULT_REPO: the function does not start without
	// one) and RepoKey that repository's public key, when it is signed
	// (COGVAULT_REPO_KEY). They only pass into the environment.
	SourceRole, Repo, RepoKey string
	// Map rewrites what a created target cannot take as it is (--map).
	Map    poolcfg.Map
	DryRun bool
	Now    func() time.Time
}

// StartResult is what start did (or, dry, would do).
type StartResult struct {
	TargetPoolID string            `json:"targetPoolId"`
	Clients      map[string]string `json:"clients"`
	Function     FunctionConfig    `json:"function"`
	// Not in the JSON contract: the text report's details.
	SourceClientCreated bool           `json:"-"`
	PoolCreated         bool           `json:"-"`
	GroupsCreated       int            `json:"-"`
	GroupsExisting      int            `json:"-"`
	NotCarried          []poolcfg.Item `json:"-"`
	DryRun              bool           `json:"-"`
	// PasswordFlowMissing are the target's app clients that do not allow
	// ALLOW_USER_PASSWORD_AUTH: Cognito sends the UserMigration trigger a
	// password only in that flow (and ADMIN_USER_PASSWORD_AUTH), never with
	// SRP, so users signing in through them are not migrated at sign-in.
	PasswordFlowMissing []string `json:"-"`
}

// FunctionConfig is the environment the migration function needs.
type FunctionConfig struct {
	Environment map[string]string `json:"environment"`
}

// Start prepares the target: created from the source's configuration or
// checked, the source's groups, an app client on the source the function
// signs in with, and both triggers of the target pointed at the function.
// Every check runs before the first write. Running it again after a failure
// continues: existing groups, the client and the start tag are reused.
func Start(ctx context.Context, src SourceAPI, dst TargetAPI, opts StartOptions) (*StartResult, error) {
	if (opts.Target == "") == (opts.CreatePool == "") {
		return nil, errors.New("start: give exactly one of a target pool and a pool name to create")
	}
	cfg, srcPool, err := backup.ReadPoolConfig(ctx, src, opts.Source, false)
	if err != nil {
		return nil, fmt.Errorf("start: read the source pool: %w", err)
	}
	client, create, err := sourceClient(cfg, opts.SourceClient, opts.Source)
	if err != nil {
		return nil, err
	}
	res := &StartResult{Clients: map[string]string{}, DryRun: opts.DryRun, SourceClientCreated: create}
	var dstPool *types.UserPoolType
	if opts.Target != "" {
		if dstPool, err = checkTarget(ctx, dst, srcPool, opts); err != nil {
			return nil, err
		}
		res.TargetPoolID = opts.Target
	} else if err := checkSlots(srcPool.LambdaConfig, opts.Function, "the pool to be created (the source's, carried)"); err != nil {
		return nil, err
	}
	if opts.DryRun {
		return dryStart(ctx, dst, cfg, srcPool, dstPool, client, opts, res)
	}
	if create {
		if client, err = createClient(ctx, src, opts.Source); err != nil {
			return nil, err
		}
	}
	if opts.CreatePool != "" {
		if err := createTarget(ctx, dst, cfg, opts, res); err != nil {
			return nil, err
		}
		if dstPool, err = describe(ctx, dst, res.TargetPoolID); err != nil {
			return nil, err
		}
	} else if err := matchClients(ctx, dst, cfg, res); err != nil {
		return nil, err
	}
	if err := copyGroups(ctx, dst, res.TargetPoolID, cfg.Groups, res); err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if err := setTriggers(ctx, dst, res.TargetPoolID, opts.Function, now().UTC().Format(time.RFC3339Nano)); err != nil {
		return nil, err
	}
	res.Function.Environment = environment(opts, client, res.TargetPoolID, dstPool)
	return res, passwordFlows(ctx, dst, res)
}

// dryStart fills the result a real start would give, writing nothing.
func dryStart(ctx context.Context, dst TargetAPI, cfg *snapshot.PoolConfig, srcPool, dstPool *types.UserPoolType, client string, opts StartOptions, res *StartResult) (*StartResult, error) {
	if opts.CreatePool != "" {
		plan, err := poolcfg.Plan(ctx, cfg, opts.CreatePool, opts.SourceRegion, opts.Map)
		if err != nil {
			return nil, err
		}
		res.TargetPoolID, res.PoolCreated, res.NotCarried = plan.NewPool, true, plan.NotCarried
		for _, c := range plan.Clients {
			res.Clients[c.Old] = c.New
		}
		dstPool = srcPool
	}
	if client == "" {
		client = "(created by start)"
	}
	res.GroupsCreated = len(cfg.Groups)
	res.Function.Environment = environment(opts, client, res.TargetPoolID, dstPool)
	if opts.CreatePool != "" {
		return res, nil // the target's clients are the source's, not created yet
	}
	return res, passwordFlows(ctx, dst, res)
}

// environment is the function's configuration (internal/migration EnvVars).
// The old sub goes into custom:legacy_sub when the target has it.
func environment(opts StartOptions, client, target string, dst *types.UserPoolType) map[string]string {
	env := map[string]string{
		"COGVAULT_MIGRATION_SOURCE_POOL_ID":   opts.Source,
		"COGVAULT_MIGRATION_SOURCE_CLIENT_ID": client,
		// The function's own pool (the Lambda handler refuses to start
		// without it): the target whose triggers it serves.
		"COGVAULT_POOL_ID": target,
	}
	if opts.RepoKey != "" {
		env["COGVAULT_REPO_KEY"] = opts.RepoKey
	}
	if opts.SourceRegion != "" {
		env["COGVAULT_MIGRATION_SOURCE_REGION"] = opts.SourceRegion
	}
	if opts.SourceRole != "" {
		env["COGVAULT_MIGRATION_SOURCE_ROLE_ARN"] = opts.SourceRole
	}
	if opts.Repo != "" {
		env["COGVAULT_REPO"] = opts.Repo
	}
	if dst != nil && hasAttr(dst, LegacySubAttribute) {
		env["COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE"] = LegacySubAttribute
	}
	return env
}

// LegacySubAttribute is where the function keeps the old sub when the
// target pool has this custom attribute.
const LegacySubAttribute = "custom:legacy_sub"

// sourceClient picks the source app client the function signs in with:
// the one named, checked; else an existing ClientName with the flow; else
// create says one must be created.
func sourceClient(cfg *snapshot.PoolConfig, id, pool string) (client string, create bool, err error) {
	for _, raw := range cfg.Clients {
		var c listedClient
		if err := json.Unmarshal(raw, &c); err != nil {
			return "", false, fmt.Errorf("start: read app clients of %s: %w", pool, err)
		}
		cid := aws.ToString(c.ClientId)
		if id != "" && cid != id || id == "" && aws.ToString(c.ClientName) != ClientName {
			continue
		}
		if err := usable(c.UserPoolClientType, c.ClientSecretPresent, pool); err != nil {
			if id == "" {
				err = fmt.Errorf("%w (or give --source-client-id)", err)
			}
			return "", false, err
		}
		return cid, false, nil
	}
	if id != "" {
		return "", false, fmt.Errorf("%w: the source pool %s has no app client %s (list them with 'aws cognito-idp list-user-pool-clients --user-pool-id %s')", ErrRefused, pool, id, pool)
	}
	return "", true, nil
}

// usable refuses an app client the function cannot sign in with.
func usable(c types.UserPoolClientType, secret bool, pool string) error {
	id := aws.ToString(c.ClientId)
	if !slices.ContainsFunc(c.ExplicitAuthFlows, func(f types.ExplicitAuthFlowsType) bool { return slices.Contains(adminAuthFlows, f) }) {
		flows := make([]string, 0, len(c.ExplicitAuthFlows)+1)
		for _, f := range c.ExplicitAuthFlows {
			flows = append(flows, string(f))
		}
		flows = append(flows, string(types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth))
		return fmt.Errorf("%w: app client %s of %s does not allow ALLOW_ADMIN_USER_PASSWORD_AUTH, which the migration function signs in with: add it (UpdateUserPoolClient resets what it omits: pass all the client's settings, e.g. 'aws cognito-idp update-user-pool-client --user-pool-id %s --client-id %s --explicit-auth-flows %s' plus its other settings), or leave out --source-client-id to let start create %s",
			ErrRefused, id, pool, pool, id, strings.Join(flows, " "), ClientName)
	}
	if c.ClientSecret != nil || secret {
		return fmt.Errorf("%w: app client %s of %s has a client secret, which the migration function does not send (SECRET_HASH): use a client without a secret, or leave out --source-client-id to let start create %s", ErrRefused, id, pool, ClientName)
	}
	return nil
}

// listedClient is an app client as the backup reader keeps it: the secret
// itself removed, its presence flagged.
type listedClient struct {
	types.UserPoolClientType
	ClientSecretPresent bool
}

// createClient makes ClientName on the source: no secret, the admin
// password flow only, so that it can do nothing but what the function does.
func createClient(ctx context.Context, src SourceAPI, pool string) (string, error) {
	out, err := src.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: &pool, ClientName: aws.String(ClientName),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
	})
	if err != nil {
		return "", fmt.Errorf("start: create app client %s on %s: %w", ClientName, pool, err)
	}
	return aws.ToString(out.UserPoolClient.ClientId), nil
}

// checkTarget refuses a target whose users would not sign in the way they
// did in the source, whose schema cannot take their attributes, or whose
// trigger slots hold another function.
func checkTarget(ctx context.Context, dst TargetAPI, src *types.UserPoolType, opts StartOptions) (*types.UserPoolType, error) {
	p, err := describe(ctx, dst, opts.Target)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	if err := sameSignIn(src, p); err != nil {
		return nil, err
	}
	if err := sameSchema(src, p); err != nil {
		return nil, err
	}
	return p, checkSlots(p.LambdaConfig, opts.Function, opts.Target)
}

// sameSignIn refuses a target where the source's users would type something
// else to sign in: other username attributes (settings that never change
// after creation), fewer alias attributes, or other case sensitivity (two
// source users differing only in case would be one user, or a user typing
// another case would not be found).
func sameSignIn(src, dst *types.UserPoolType) error {
	var why []string
	if !sameSet(src.UsernameAttributes, dst.UsernameAttributes) {
		why = append(why, fmt.Sprintf("users sign in with %s in the source and %s in the target", signInWith(src.UsernameAttributes), signInWith(dst.UsernameAttributes)))
	}
	for _, a := range src.AliasAttributes {
		if !slices.Contains(dst.AliasAttributes, a) {
			why = append(why, fmt.Sprintf("the source lets users sign in with their %s (alias) and the target does not", a))
		}
	}
	if caseSensitive(src) != caseSensitive(dst) {
		why = append(why, fmt.Sprintf("usernames are case-%s in the source and case-%s in the target", sensitivity(caseSensitive(src)), sensitivity(caseSensitive(dst))))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: target %s does not let the source's users sign in the same way: %s; these settings never change after a pool is created: use --create-pool to make a target from the source's configuration", ErrRefused, aws.ToString(dst.Id), strings.Join(why, "; "))
}

func sameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func signInWith(attrs []types.UsernameAttributeType) string {
	if len(attrs) == 0 {
		return "a username"
	}
	s := make([]string, len(attrs))
	for i, a := range attrs {
		s[i] = string(a)
	}
	return strings.Join(s, " or ")
}

// caseSensitive: a pool created through the API without
// UsernameConfiguration is case sensitive (API_UsernameConfigurationType).
func caseSensitive(p *types.UserPoolType) bool {
	return p.UsernameConfiguration == nil || p.UsernameConfiguration.CaseSensitive == nil || *p.UsernameConfiguration.CaseSensitive
}

func sensitivity(b bool) string {
	if b {
		return "sensitive"
	}
	return "insensitive"
}

// createTarget makes the target from the source's configuration, as
// restore --create-pool does.
func createTarget(ctx context.Context, dst TargetAPI, cfg *snapshot.PoolConfig, opts StartOptions, res *StartResult) error {
	created, err := poolcfg.Create(ctx, dst, cfg, opts.CreatePool, opts.Map)
	if created != nil {
		res.TargetPoolID, res.PoolCreated, res.NotCarried = created.NewPool, created.NewPool != "", created.NotCarried
		for _, c := range created.Clients {
			res.Clients[c.Old] = c.New
		}
	}
	if err != nil {
		if res.TargetPoolID != "" {
			return fmt.Errorf("start: create the target: %w (pool %s was created and is left: run start again with --to %s)", err, res.TargetPoolID, res.TargetPoolID)
		}
		return fmt.Errorf("start: create the target: %w", err)
	}
	return nil
}

// matchClients pairs the source's app clients with the target's of the
// same name, for applications that switch pools.
func matchClients(ctx context.Context, dst TargetAPI, cfg *snapshot.PoolConfig, res *StartResult) error {
	byName := map[string]string{}
	in := &cip.ListUserPoolClientsInput{UserPoolId: &res.TargetPoolID, MaxResults: aws.Int32(60)}
	for {
		out, err := dst.ListUserPoolClients(ctx, in)
		if err != nil {
			return fmt.Errorf("start: list app clients of %s: %w", res.TargetPoolID, err)
		}
		for _, c := range out.UserPoolClients {
			byName[aws.ToString(c.ClientName)] = aws.ToString(c.ClientId)
		}
		if in.NextToken = out.NextToken; in.NextToken == nil {
			break
		}
	}
	for _, raw := range cfg.Clients {
		var c listedClient
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		if id, ok := byName[aws.ToString(c.ClientName)]; ok && aws.ToString(c.ClientName) != ClientName {
			res.Clients[aws.ToString(c.ClientId)] = id
		}
	}
	return nil
}

// copyGroups creates the source's groups in the target; those that exist
// are left as they are.
func copyGroups(ctx context.Context, dst TargetAPI, pool string, groups []snapshot.Group, res *StartResult) error {
	for _, g := range groups {
		in := &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String(g.Name), Precedence: g.Precedence,
			Description: nonEmpty(g.Description), RoleArn: nonEmpty(g.RoleArn)}
		_, err := dst.CreateGroup(ctx, in)
		switch {
		case err == nil:
			res.GroupsCreated++
		case cognito.IsGroupExists(err):
			res.GroupsExisting++
		default:
			return fmt.Errorf("start: create group %q in %s: %w", g.Name, pool, err)
		}
	}
	return nil
}

func hasAttr(p *types.UserPoolType, name string) bool {
	return slices.ContainsFunc(p.SchemaAttributes, func(a types.SchemaAttributeType) bool { return aws.ToString(a.Name) == name })
}

// passwordFlows lists the target's app clients that do not allow
// ALLOW_USER_PASSWORD_AUTH. Cognito hands the UserMigration trigger the
// password only in the password flows: "activate the USER_PASSWORD_AUTH or
// ADMIN_USER_PASSWORD_AUTH flow ... You must use these flows instead of the
// default USER_SRP_AUTH flow ... An SRP obscures your user's password from
// your Lambda function" (developer guide, "Importing users with a user
// migration Lambda trigger"; facts §26.6). Apps on such a client (Amplify
// signs in with SRP by default) migrate no one at sign-in; start says so
// rather than refusing, as the app may switch flows after start.
func passwordFlows(ctx context.Context, dst TargetAPI, res *StartResult) error {
	in := &cip.ListUserPoolClientsInput{UserPoolId: &res.TargetPoolID, MaxResults: aws.Int32(60)}
	for {
		out, err := dst.ListUserPoolClients(ctx, in)
		if err != nil {
			return fmt.Errorf("start: list app clients of %s: %w", res.TargetPoolID, err)
		}
		for _, c := range out.UserPoolClients {
			d, err := dst.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &res.TargetPoolID, ClientId: c.ClientId})
			if err != nil {
				return fmt.Errorf("start: read app client %s of %s: %w", aws.ToString(c.ClientId), res.TargetPoolID, err)
			}
			if !slices.Contains(d.UserPoolClient.ExplicitAuthFlows, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth) {
				res.PasswordFlowMissing = append(res.PasswordFlowMissing, aws.ToString(c.ClientId))
			}
		}
		if in.NextToken = out.NextToken; in.NextToken == nil {
			return nil
		}
	}
}
