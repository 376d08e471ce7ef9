package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/iampolicy"
)

// The lambda-migration mode's flags: the function's source pool, and the
// role in the source account it assumes when that account is another
// (COGVAULT_MIGRATION_SOURCE_POOL_ID / _ROLE_ARN of the function).

func addMigrationPolicyFlags(fs *pflag.FlagSet, opts *iamPolicyOptions) {
	fs.StringVar(&opts.SourcePool, "source-pool", "", "lambda-migration: the source user pool `ID` (--pool is the target)")
	fs.StringVar(&opts.Target, "to", "", "migrate: the existing target pool `ID` (migrate start --to): the target actions are granted on it alone (default: userpool/*, for --create-pool)")
	fs.StringVar(&opts.SourceRoleARN, "source-role-arn", "", "lambda-migration: `ARN` of the role in the source account the function assumes (only sts:AssumeRole on it is granted)")
}

func (o iamPolicyOptions) validateMigration(m iampolicy.Mode) error {
	switch {
	case o.SourcePool != "" && !poolIDRe.MatchString(o.SourcePool):
		return usageError("--source-pool %q: want a user pool id such as us-east-1_AbC123", o.SourcePool)
	case o.SourceRoleARN != "" && !roleRe.MatchString(o.SourceRoleARN):
		return usageError("--source-role-arn %q: want an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", o.SourceRoleARN)
	case (o.SourcePool != "" || o.SourceRoleARN != "") && len(m.Source) == 0:
		return usageError("--source-pool and --source-role-arn apply to lambda-migration only")
	case o.Target != "" && len(m.Target) == 0:
		return usageError("--to applies to migrate only")
	case o.Target != "" && !poolIDRe.MatchString(o.Target):
		return usageError("--to %q: want a user pool id such as us-east-1_AbC123", o.Target)
	case o.Target != "" && o.ToRegion != "":
		return usageError("--to and --to-region: --to-region is where migrate start --create-pool creates the target; an existing target's Region comes from its id")
	}
	return nil
}

// targetScope sets migrate's existing target, or says the target actions
// cover every pool.
func targetScope(o *iampolicy.Options, m iampolicy.Mode, opts iamPolicyOptions, g *globalOptions) {
	if len(m.Target) == 0 {
		return
	}
	o.TargetPoolID = opts.Target
	if opts.Target == "" {
		g.notef("no --to: the target actions are granted on every pool (userpool/*), as migrate start --create-pool needs; pass --to POOL_ID for an existing target")
	}
}

// migrationScope sets the source pool; its account is the role's when a
// role is given (the pool is in that account), else the function's.
func migrationScope(o *iampolicy.Options, m iampolicy.Mode, opts iamPolicyOptions, g *globalOptions) {
	if len(m.Source) == 0 {
		return
	}
	o.SourcePoolID, o.SourceRoleARN = opts.SourcePool, opts.SourceRoleARN
	if parts := strings.Split(opts.SourceRoleARN, ":"); len(parts) > 4 {
		o.SourceAccount = parts[4]
	}
	if opts.SourcePool == "" && opts.SourceRoleARN == "" {
		g.notef("no --source-pool: the policy grants the source actions on every pool in the account (userpool/*)")
	}
}
