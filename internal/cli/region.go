package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognito"
)

// cognitoPoolFlag names the flag holding the pool a command's Cognito calls
// go to, "" for commands that take none.
func cognitoPoolFlag(command string) string {
	switch command {
	case "backup":
		return "pool"
	case "restore", "diff":
		return "to"
	case "clone":
		return "from"
	}
	return ""
}

// regionFromPoolFlag takes the Region from the pool id the command calls
// when neither --region nor the environment names one, and refuses a
// --region that disagrees with it, before anything is read or written.
func (g *globalOptions) regionFromPoolFlag(cmd *cobra.Command) error {
	name := cognitoPoolFlag(cmd.Name())
	if name == "" {
		return nil
	}
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return nil
	}
	return g.usePoolRegion("--"+name, f.Value.String())
}

// usePoolRegion records the Region pool names as the default Region; what
// says where pool came from in the error.
func (g *globalOptions) usePoolRegion(what, pool string) error {
	region, ok := awsx.PoolRegion(pool)
	if !ok {
		return nil
	}
	if g.Region != "" && g.Region != region {
		return usageError("--region %s disagrees with %s %s, a pool in %s: pass --region %s, or leave --region out", g.Region, what, pool, region, region)
	}
	g.poolRegion = region
	return nil
}

// checkPool asks Cognito for the pool once before anything is written, so
// that a wrong id or Region says so in words instead of as a failed backup.
// DescribeUserPool answers ResourceNotFoundException for a pool the account
// does not have in that Region (API reference, API_DescribeUserPool.html,
// Errors). No pool (restore --create-pool) checks nothing.
func checkPool(ctx context.Context, api *cip.Client, pool, region string) error {
	if pool == "" {
		return nil
	}
	_, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(pool)})
	switch {
	case err == nil:
		return nil
	case cognito.IsNotFound(err):
		return fmt.Errorf("no pool %s in %s for this account (see 'cogvault pools --region %s')", pool, region, region)
	}
	return fmt.Errorf("read pool %s: %w", pool, err)
}
