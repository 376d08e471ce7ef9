// Package migrate moves a user pool's users into another pool while the old
// one still exists: the target's UserMigration trigger checks each password
// against the source as users sign in (internal/migration), and finish
// brings over everyone who has not signed in through the restore machinery.
// See docs/cognito-facts.md §21, §22 and §26.
package migrate

import (
	"context"
	"fmt"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// StartTag is the target pool tag start writes with the moment the
// migration began (RFC 3339). finish gives groups only to target users
// created at or after it: a user who was in the target before is never
// taken for a migrated one, whatever their sign-in value.
const StartTag = "cogvault:migration-start"

// ClientName is the source app client start creates when none is given.
const ClientName = "cogvault-migration"

// The LambdaConfig slots the migration function serves.
const (
	SlotUserMigration      = "UserMigration"
	SlotPostAuthentication = "PostAuthentication"
)

// adminAuthFlows are the ExplicitAuthFlows values that allow
// AdminInitiateAuth with ADMIN_USER_PASSWORD_AUTH (ADMIN_NO_SRP_AUTH is its
// legacy name; API_CreateUserPoolClient, facts §21.2).
var adminAuthFlows = []types.ExplicitAuthFlowsType{
	types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth, types.ExplicitAuthFlowsTypeAdminNoSrpAuth,
}

// PoolReader reads a pool's settings.
type PoolReader interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
}

// PoolAPI reads and updates a pool's settings.
type PoolAPI interface {
	PoolReader
	UpdateUserPool(ctx context.Context, in *cip.UpdateUserPoolInput, optFns ...func(*cip.Options)) (*cip.UpdateUserPoolOutput, error)
}

// describe reads a pool.
func describe(ctx context.Context, api PoolReader, pool string) (*types.UserPoolType, error) {
	out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		return nil, fmt.Errorf("describe user pool %s: %w", pool, err)
	}
	return out.UserPool, nil
}

// Started is when the migration into p began, from its StartTag; ok is false
// when start never ran against it.
func Started(p *types.UserPoolType) (t time.Time, ok bool) {
	v, ok := p.UserPoolTags[StartTag]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// CheckFinish refuses, before finish backs anything up, a target start
// never ran on, or one with other triggers the restore would fire (unless
// allowTriggers). Finish checks both again itself.
func CheckFinish(ctx context.Context, api PoolReader, target string, allowTriggers bool) error {
	if _, err := newMatcher(ctx, api, target); err != nil {
		return err
	}
	p, err := describe(ctx, api, target)
	if err != nil {
		return err
	}
	return otherTriggers(p.LambdaConfig, allowTriggers, target)
}
