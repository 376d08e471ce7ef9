package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/sign"
)

// globalOptions are the flags every command shares, spelled as the AWS CLI
// spells them.
type globalOptions struct {
	Profile     string
	Region      string
	EndpointURL string
	Output      string
	Repo        string
	MaxShare    float64
	QuotaRates  []string
	AgeIdentity string
	SigningKey  string
	RepoKey     string

	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	cfgs           *awsx.Configs // loaded on first use by awsConfig / otherConfig
	initSigner     sign.Signer   // the key a repository was just initialised with
	poolRegion     string        // the Region the command's pool id names (region.go)
}

func (g *globalOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&g.Profile, "profile", "", "AWS shared-config `profile` to use (default: AWS_PROFILE, then the SDK's chain)")
	fs.StringVar(&g.Region, "region", "", "AWS `Region` of the user pool (default: AWS_REGION or the profile's region)")
	fs.StringVar(&g.EndpointURL, "endpoint-url", "", "send Cognito calls to this `URL`, e.g. a Cognito VPC endpoint or what cogvault fake-cognito prints (Cognito only: S3 and CloudWatch Logs resolve their own endpoints)")
	fs.StringVar(&g.Output, "output", "text", "output `format`: text or json (json prints one document on stdout)")
	fs.StringVar(&g.Repo, "repo", "", "repository `URL`: a path, file://PATH or s3://BUCKET/PREFIX (default: $COGVAULT_REPO)")
	fs.StringVar(&g.AgeIdentity, "age-identity", "", "age identity `file` that decrypts an encrypted repository (default: $COGVAULT_AGE_IDENTITY)")
	fs.StringVar(&g.SigningKey, "signing-key", "", "the repository's signing key: an Ed25519 key `file` or kms:KEY_ARN (default: $COGVAULT_SIGNING_KEY, then the trust store)")
	fs.StringVar(&g.RepoKey, "repo-key", "", "the repository's public `key` to verify against (ed25519:…, or base64 DER as KMS and Terraform give it; default: $COGVAULT_REPO_KEY, then the trust store)")
	fs.Float64Var(&g.MaxShare, "max-share", 1, "`fraction` (0,1] of each Cognito quota this run may use; quotas are shared with production traffic")
	fs.StringArrayVar(&g.QuotaRates, "quota-rate", nil, "`CATEGORY=RPS`: override a quota category's rate (repeatable), e.g. UserList=50 after a quota increase")
}

// validate checks the global flags once, before any command runs.
func (g *globalOptions) validate() error {
	if g.Output != "text" && g.Output != "json" {
		return usageError("--output %q: accepted values are text and json", g.Output)
	}
	if g.MaxShare <= 0 || g.MaxShare > 1 {
		return usageError("--max-share %v: must be greater than 0 and at most 1", g.MaxShare)
	}
	if _, err := g.rates(); err != nil {
		return err
	}
	if g.Repo == "" {
		g.Repo = g.getenv("COGVAULT_REPO")
	}
	if g.AgeIdentity == "" {
		g.AgeIdentity = g.getenv("COGVAULT_AGE_IDENTITY")
	}
	if g.SigningKey == "" {
		g.SigningKey = g.getenv("COGVAULT_SIGNING_KEY")
	}
	if g.RepoKey == "" {
		g.RepoKey = g.getenv("COGVAULT_REPO_KEY")
	}
	if !g.json() {
		g.stdout = newTermWriter(g.stdout) // names from a pool or a repository may carry terminal controls
	}
	return nil
}

// rates parses --quota-rate flags.
func (g *globalOptions) rates() (quota.Rates, error) {
	r := quota.Rates{}
	known := map[quota.Category]bool{}
	for _, c := range quota.Categories() {
		known[c] = true
	}
	for _, kv := range g.QuotaRates {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageError("--quota-rate %q: want CATEGORY=RPS, e.g. UserList=50", kv)
		}
		c := quota.Category(name)
		if !known[c] {
			names := make([]string, 0, len(known))
			for _, k := range quota.Categories() {
				names = append(names, string(k))
			}
			return nil, usageError("--quota-rate: unknown category %q; known categories: %s", name, strings.Join(names, ", "))
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil || v <= 0 {
			return nil, usageError("--quota-rate %s: rate %q must be a positive number of requests per second", name, val)
		}
		r[c] = v
	}
	return r, nil
}

// awsOptions turns the global flags into SDK options.
func (g *globalOptions) awsOptions() awsx.Options {
	r, _ := g.rates() // validated before any command runs
	return awsx.Options{Profile: g.Profile, Region: g.Region, DefaultRegion: g.poolRegion, CheckCredentials: true, EndpointURL: g.EndpointURL, Rates: r, MaxShare: g.MaxShare,
		// Pace at what the account has: each adjustable category cogvault
		// uses is read on its first call (one notice if it cannot be).
		ReadProvisioned: quota.UsedAdjustable(), Notice: func(s string) { fmt.Fprintf(g.stderr, "cogvault: %s\n", s) }}
}

func (g *globalOptions) json() bool { return g.Output == "json" }

// printJSON writes v as the one JSON document of a command's output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

const rootLong = `cogvault backs up Amazon Cognito user pools, restores them to a point in time,
and migrates them to another pool, Region or account.

Cognito has no built-in backup. cogvault reads a pool through the Cognito API,
within the account's request-rate quotas, and writes snapshots (users, groups,
memberships and pool configuration) to a repository on disk or in S3.

Try it without an AWS account:
  cogvault demo                    run a fake pool end to end, offline
  cogvault fake-cognito            serve a fake Cognito for the AWS CLI and SDKs

Against a real account, credentials and Region come from the AWS SDK's default
chain (environment, ~/.aws, SSO, instance roles), or from --profile/--region:
  cogvault pools --region eu-west-1

Environment:
  COGVAULT_REPO     default for --repo
  AWS_PROFILE       default for --profile
  AWS_REGION        default for --region
  AWS_ENDPOINT_URL  default endpoint for every AWS service (the SDK reads it)
  AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
                    S3's endpoint (s3:// repositories) and CloudWatch Logs'
                    (import-job logs); --endpoint-url is Cognito's alone, as
                    in the AWS CLI, and never redirects these`

// newRoot builds a fresh command tree: no state survives between calls.
func newRoot(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "cogvault",
		Short:         "Backup, point-in-time restore and migration for Amazon Cognito user pools",
		Long:          rootLong,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       versionLine(), // --version
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := g.validate(); err != nil {
				return err
			}
			return g.regionFromPoolFlag(cmd)
		},
	}
	g.AddFlags(root.PersistentFlags())
	root.Flags().Bool("version", false, "print cogvault's version, as 'cogvault version' does")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, cmd.CommandPath())
	})
	root.AddCommand(
		newVersionCommand(g),
		newIAMPolicyCommand(g),
		newPoolsCommand(g),
		newQuotasCommand(g),
		newInitCommand(g),
		newKeyCommand(g),
		newBackupCommand(g),
		newSnapshotsCommand(g),
		newVerifyCommand(g),
		newDiffCommand(g),
		newRestoreCommand(g),
		newCloneCommand(g),
		newDrillCommand(g),
		newImportLegacyCommand(g),
		newForgetCommand(g),
		newPruneCommand(g),
		newCheckpointsCommand(g),
		newJournalCommand(g),
		newFakeCognitoCommand(g),
		newBenchCommand(g),
		newDemoCommand(g),
		newMigrateCommand(g),
	)
	return root
}

// Main runs cogvault with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOptions{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if isCobraUsage(err) {
		err = usageError("%v (see 'cogvault --help')", err)
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = withCode(exitCode(err), fmt.Errorf("interrupted: %w", err))
	}
	fmt.Fprintf(stderr, "cogvault: %s\n", termEscape(err.Error()))
	return exitCode(err)
}

// isCobraUsage recognises the errors cobra returns for unknown commands and
// wrong argument counts, which it does not type.
func isCobraUsage(err error) bool {
	var ee *exitError
	if errors.As(err, &ee) {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand flag"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
