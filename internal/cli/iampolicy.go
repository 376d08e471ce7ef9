package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/iampolicy"
)

type iamPolicyOptions struct {
	Pool          string
	Account       string
	ToRegion      string
	KMSKey        string
	SigningKey    string
	ImportRoleARN string
	EnableRestore bool
	StateInRepo   bool
	// lambda-migration (iampolicy_migration.go)
	SourcePool, SourceRoleARN string
	// lambda-worker's age identity (iampolicy_age.go)
	AgeIdentitySecret, AgeIdentitySecretKey string
	// migrate: the existing target (iampolicy_migration.go)
	Target string
}

// Shapes from the API references: a user pool id ([\w-]+_[0-9a-zA-Z]+,
// Cognito API reference, UserPoolId), an account id (12 digits), KMS key
// and IAM role ARNs (an alias ARN cannot be used in IAM policies).
var (
	poolIDRe  = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	kmsKeyRe  = regexp.MustCompile(`^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$`)
	roleRe    = regexp.MustCompile(`^arn:[a-z-]+:iam::[0-9]{12}:role/.+$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

func iamPolicyLong() string {
	var b strings.Builder
	b.WriteString(`Print the least-privilege IAM policy document for one way of running
cogvault: every action that MODE calls, scoped to the user pool's ARN where
IAM supports it and to "*" where the action has no resource type (such as
DescribeUserPoolDomain), the S3 actions on the repository's prefix, and the
KMS and iam:PassRole grants the options below ask for. The same table drives
the code's tests, the Terraform module's test and this output.

MODE is one of:
`)
	for _, m := range iampolicy.Modes {
		fmt.Fprintf(&b, "  %-15s %s\n", m.Name, m.Summary)
	}
	b.WriteString(`
The pool ARN needs a Region and an account: the Region comes from --pool
(us-east-1_AbC → us-east-1) or --region, the account from --account or,
when credentials are available, STS GetCallerIdentity; otherwise "*" with a
note on stderr. A repository that is not in S3 gets no S3 statements.
create-pool and drill grant on userpool/* in --region (the new pool's id is
not known yet); so does migrate for its target, unless --to names an
existing one: then the target actions are granted on that pool alone, and
--import-role-arn adds what finish --via import needs there (the import
actions, iam:PassRole on the role, the job's log group). lambda-migration is the migration function of the target pool
(--pool): --source-pool names the source, and --source-role-arn a role in
the source's account, when it is another, that holds the source actions
(only sts:AssumeRole on it is granted). lambda-worker with
--age-identity-secret ARN may read the worker's age identity from that
Secrets Manager secret (an encrypted repository read back on AWS), and with
--age-identity-secret-key ARN decrypt it through Secrets Manager when the
secret is encrypted with a customer managed key. The policy is JSON whatever
--output says.

EXIT STATUS
  0  the policy was printed
  1  the account could not be looked up
  2  bad MODE or flags`)
	return b.String()
}

func newIAMPolicyCommand(g *globalOptions) *cobra.Command {
	var opts iamPolicyOptions
	cmd := &cobra.Command{
		Use:   "iam-policy MODE [--pool POOL_ID] [--repo s3://BUCKET/PREFIX]",
		Short: "Print the IAM policy a mode of cogvault needs",
		Long:  iamPolicyLong(),
		Example: `  cogvault iam-policy backup --pool us-east-1_AbC123 --repo s3://my-backups/cognito --account 123456789012
  cogvault iam-policy restore-import --pool eu-west-1_New --repo s3://b/p --import-role-arn arn:aws:iam::123456789012:role/CognitoImportLogs`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIAMPolicy(cmd.Context(), args[0], opts, g)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Pool, "pool", "", "user pool `ID` the policy is for (default: every pool, userpool/*)")
	fs.StringVar(&opts.Account, "account", "", "AWS account `ID` of the pool (default: STS GetCallerIdentity, else *)")
	fs.StringVar(&opts.ToRegion, "to-region", "", "migrate: `Region` of the new pool (default: the pool's)")
	fs.StringVar(&opts.KMSKey, "kms-key", "", "`ARN` of the repository's SSE-KMS key (kms:Decrypt, and kms:GenerateDataKey for writers)")
	fs.StringVar(&opts.SigningKey, "signing-key", "", "`ARN` of the KMS key the repository is signed with (kms:Sign for writers)")
	fs.StringVar(&opts.ImportRoleARN, "import-role-arn", "", "restore-import, lambda-worker: the import job's CloudWatch Logs role `ARN` (iam:PassRole on it)")
	fs.BoolVar(&opts.EnableRestore, "enable-restore", false, "lambda-worker: it also restores (the Terraform module's enable_restore)")
	fs.BoolVar(&opts.StateInRepo, "state-in-repo", false, "restore, restore-import, create-pool: the restore keeps its state in the repository (restore --state-in-repo): it writes, signs and replaces objects under checkpoints/")
	addMigrationPolicyFlags(fs, &opts)
	addAgeIdentityPolicyFlags(fs, &opts)
	return cmd
}

func runIAMPolicy(ctx context.Context, modeName string, opts iamPolicyOptions, g *globalOptions) error {
	mode, ok := iampolicy.Lookup(modeName)
	if !ok {
		return usageError("iam-policy: unknown mode %q; accepted values are %s", modeName, strings.Join(iampolicy.Names(), ", "))
	}
	if err := opts.validate(mode); err != nil {
		return err
	}
	if opts.EnableRestore {
		mode = mode.WithRestore()
	}
	o, err := policyOptions(ctx, mode, opts, g)
	if err != nil {
		return err
	}
	return printJSON(g.stdout, iampolicy.Build(mode, o))
}

func (o iamPolicyOptions) validate(m iampolicy.Mode) error {
	if err := o.validateMigration(m); err != nil {
		return err
	}
	if err := o.validateAgeIdentity(m); err != nil {
		return err
	}
	checks := []struct {
		flag, val, want string
		re              *regexp.Regexp
	}{
		{"--pool", o.Pool, "a user pool id such as us-east-1_AbC123", poolIDRe},
		{"--account", o.Account, "a 12-digit AWS account id", accountRe},
		{"--to-region", o.ToRegion, "a Region such as eu-west-1", regionRe},
		{"--kms-key", o.KMSKey, "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; an alias cannot be used in IAM policies)", kmsKeyRe},
		{"--signing-key", o.SigningKey, "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", kmsKeyRe},
		{"--import-role-arn", o.ImportRoleARN, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", roleRe},
	}
	for _, c := range checks {
		if c.val != "" && !c.re.MatchString(c.val) {
			return usageError("%s %q: want %s", c.flag, c.val, c.want)
		}
	}
	switch {
	case m.Name == "restore-import" && o.ImportRoleARN == "":
		return usageError("iam-policy restore-import needs --import-role-arn ROLE_ARN: iam:PassRole is granted on that role only")
	case o.ImportRoleARN != "" && !m.ImportRole && !o.EnableRestore:
		return usageError("--import-role-arn: mode %s starts no import job (restore-import and migrate do, and lambda-worker with --enable-restore)", m.Name)
	case o.EnableRestore && m.Name != "lambda-worker":
		return usageError("--enable-restore applies to lambda-worker only")
	case o.ToRegion != "" && m.Name != "migrate":
		return usageError("--to-region applies to migrate only")
	case o.StateInRepo && m.Repo != iampolicy.RepoRead:
		return usageError("--state-in-repo applies to restore, restore-import and create-pool (mode %s already writes the repository or reads none)", m.Name)
	}
	return nil
}

// policyOptions scopes the policy: Region from the pool id, account from
// --account or STS, repository from --repo. Each "*" it leaves gets a note.
func policyOptions(ctx context.Context, m iampolicy.Mode, opts iamPolicyOptions, g *globalOptions) (iampolicy.Options, error) {
	o := iampolicy.Options{PoolID: opts.Pool, Account: opts.Account, NewPoolRegion: opts.ToRegion,
		KMSKey: opts.KMSKey, SigningKey: opts.SigningKey, ImportRoleARN: opts.ImportRoleARN, StateInRepo: opts.StateInRepo}
	if err := repoScope(&o, m, g); err != nil {
		return o, err
	}
	migrationScope(&o, m, opts, g)
	o.AgeIdentitySecret, o.AgeIdentitySecretKey = opts.AgeIdentitySecret, opts.AgeIdentitySecretKey
	targetScope(&o, m, opts, g)
	o.Region = g.Region
	if r, _, ok := strings.Cut(opts.Pool, "_"); ok {
		o.Region = r
	}
	if len(m.NewPool) > 0 && len(m.Cognito) == 0 && g.Region != "" {
		o.NewPoolRegion = g.Region // restore --create-pool creates it in --region
	}
	o.Partition = iampolicy.PartitionOf(o.Region)
	if o.Region == "" && o.NewPoolRegion == "" {
		g.notef("no --pool or --region: the policy names every Region (*)")
	}
	if opts.Pool == "" && len(m.Cognito) > 0 {
		g.notef("no --pool: the policy grants its Cognito actions on every pool in the account (userpool/*)")
	}
	if o.Account == "" {
		if g.Region == "" {
			g.Region = o.Region // STS needs one; the pool's will do
		}
		o.Account = g.callerAccount(ctx)
	}
	return o, nil
}

// repoScope reads --repo: the bucket and prefix of an S3 repository.
func repoScope(o *iampolicy.Options, m iampolicy.Mode, g *globalOptions) error {
	switch {
	case m.Repo == iampolicy.RepoNone:
	case strings.HasPrefix(g.Repo, "s3://"):
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(g.Repo, "s3://"), "/")
		if bucket == "" {
			return usageError("--repo %q: want s3://BUCKET/PREFIX", g.Repo)
		}
		o.Bucket, o.Prefix = bucket, strings.Trim(prefix, "/")
	case g.Repo == "":
		o.AnyBucket = true
		g.notef("no --repo: the policy grants its S3 actions on every bucket; pass --repo s3://BUCKET/PREFIX to scope them")
	default:
		g.notef("--repo %s is not in S3: the policy has no S3 statements", g.Repo)
	}
	return nil
}

// callerAccount asks STS whose credentials these are, or returns "" (the
// policy then says "*") with a note when there are none.
func (g *globalOptions) callerAccount(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cfg, err := g.otherConfig(ctx)
	if err == nil {
		var out *sts.GetCallerIdentityOutput
		if out, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
			return aws.ToString(out.Account)
		}
	}
	g.notef("account unknown (pass --account; STS GetCallerIdentity failed: %v): the ARNs say * for it", err)
	return ""
}

func (g *globalOptions) notef(format string, args ...any) {
	fmt.Fprintf(g.stderr, "cogvault: "+format+"\n", args...)
}

// iamHelp is the IAM paragraph of a command's --help: what `cogvault
// iam-policy MODE` grants, from the same table.
func iamHelp(mode string) string {
	m, ok := iampolicy.Lookup(mode)
	if !ok {
		panic("iamHelp: unknown mode " + mode) // a typo in this package
	}
	return iampolicy.Help(m, 78)
}

// iamHelpAdded lists what mode needs beyond base, after label.
func iamHelpAdded(base, mode, label string) string {
	b, ok1 := iampolicy.Lookup(base)
	m, ok2 := iampolicy.Lookup(mode)
	if !ok1 || !ok2 {
		panic("iamHelpAdded: unknown mode " + base + " or " + mode)
	}
	return iampolicy.Added(b, m, label, 78)
}
