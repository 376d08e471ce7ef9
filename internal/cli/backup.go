package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/progress"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

type backupOptions struct {
	Pool         string
	MFA          bool
	KMSKeyID     string
	ChunkRecords int
	SingleChain  bool
	Secrets      bool
}

func (o *backupOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Pool, "pool", "", "user pool id to back up, e.g. us-east-1_AbC123 (see 'cogvault pools')")
	fs.BoolVar(&o.Secrets, "include-secrets", false, "also keep app client and identity provider secrets, so restore --create-pool can keep them (only into a repository encrypted with 'cogvault init --age-recipient')")
	fs.BoolVar(&o.MFA, "mfa", false, "also read each user's MFA settings (one AdminGetUser per user, UserRead quota)")
	fs.StringVar(&o.KMSKeyID, "kms-key-id", "", "encrypt S3 objects with SSE-KMS using this key id, ARN or alias")
	fs.IntVar(&o.ChunkRecords, "chunk-records", snapshot.DefaultChunkRecords, "records per data object")
	fs.BoolVar(&o.SingleChain, "single-chain", false, "list users in one ListUsers chain instead of 16 sharded by sub (slower; a fallback)")
}

func newBackupCommand(g *globalOptions) *cobra.Command {
	var opts backupOptions
	cmd := &cobra.Command{
		Use:   "backup --pool POOL_ID --repo URL",
		Short: "Back up a user pool into a snapshot",
		Long: `Back up a user pool: its configuration (app clients without their secrets,
identity providers, groups), every user with all attributes, status and
enabled flag, and every group membership, into a new snapshot in the
repository.

Users are listed by 16 concurrent ListUsers chains, one per first hex digit of
the sub; memberships by ListUsersInGroup per group. Every call is paced by its
Cognito quota category (see --max-share and --quota-rate), so a backup uses the
UserList quota (30 requests/s by default: 1,800 users/s) without throttling
production. Data objects are written as they fill; the manifest is written
last, so an interrupted backup leaves no snapshot (and its data objects are
removed).

IAM: what 'cogvault iam-policy backup' prints, scoped to a pool and
repository (AdminGetUser is for --mfa; the KMS keys only when used):
` + iamHelp("backup") + `
The pool-configuration extras (ListResourceServers,
GetUICustomization, GetUserPoolMfaConfig, DescribeUserPoolDomain) are
optional: when the service refuses one (AccessDeniedException, or
OperationNotEnabledException where the Region lacks it) the snapshot is still
written, marked incomplete, with a warning. Users, groups and memberships are
never optional.

If the pool refuses the sub shard filter, the users are listed in one
unsharded chain instead, with a notice. The users listed are compared with
DescribeUserPool's EstimatedNumberOfUsers: more than 1 % and more than 10
short marks the snapshot incomplete.

EXIT STATUS
  0  the snapshot was written, complete
  1  the backup failed or was interrupted; no snapshot was written
  2  bad flags
  3  the snapshot was written but is incomplete (what it lacks is printed,
     and listed by 'cogvault snapshots')`,
		Example: `  cogvault backup --pool eu-west-1_AbC123 --repo s3://my-backups/cognito --region eu-west-1
  cogvault backup --pool us-east-1_AbC123 --repo ./backups --max-share 0.5 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackup(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

type backupSummary struct {
	Snapshot    string         `json:"snapshot"`
	Incomplete  []snapshot.Gap `json:"incomplete,omitempty"`
	PoolID      string         `json:"poolId"`
	Users       int64          `json:"users"`
	Groups      int64          `json:"groups"`
	Memberships int64          `json:"memberships"`
	Objects     int            `json:"objects"`
	Bytes       int64          `json:"bytes"`
	Seconds     float64        `json:"seconds"`
	UsersPerSec float64        `json:"usersPerSecond"`
}

func runBackup(ctx context.Context, opts backupOptions, g *globalOptions) error {
	if opts.Pool == "" {
		return usageError("--pool is required (see 'cogvault pools' for the ids)")
	}
	if opts.ChunkRecords <= 0 {
		return usageError("--chunk-records must be positive")
	}
	if g.Repo == "" {
		// Said here too: the AWS checks below would otherwise speak first.
		return usageError("no repository: pass --repo (a path, file://PATH or s3://BUCKET/PREFIX) or set COGVAULT_REPO")
	}
	// Credentials, Region and the pool are checked before the repository is
	// created: a run that cannot read the pool writes nothing.
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return err
	}
	api := cip.NewFromConfig(cfg)
	if err := checkPool(ctx, api, opts.Pool, cfg.Region); err != nil {
		return err
	}
	r, err := g.createRepo(ctx, opts.KMSKeyID)
	if err != nil {
		return err
	}
	if opts.Secrets {
		rc, err := repo.ReadConfig(ctx, r.Store)
		if err != nil {
			return err
		}
		if rc.Encryption != repo.EncryptionAge {
			return usageError("--include-secrets needs an encrypted repository: secrets must never be stored in the clear; run 'cogvault init --repo %s --age-recipient age1…' on a new repository", g.Repo)
		}
	}
	bo := backup.Options{PoolID: opts.Pool, Region: cfg.Region, MFA: opts.MFA, IncludeSecrets: opts.Secrets, ChunkRecords: opts.ChunkRecords, ToolVersion: Version(),
		Warn: func(msg string) { fmt.Fprintf(g.stderr, "cogvault: warning: %s\n", termEscape(msg)) }}
	if opts.SingleChain {
		bo.Filters = []string{""}
	}
	// A backup waits on Cognito's quota (1,800 users/s at the default
	// UserList rate) while the CPU idles; collecting garbage more often costs
	// nothing there and keeps peak memory under 100 MB for a million users.
	// GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
	}
	stats := &backup.Stats{}
	var failed bool // read by stop, so that a failed backup's bars are not drawn full
	stop := g.progressOf(ctx, func() bool { return failed },
		progress.Task{Name: "users", Done: stats.Users.Load, Total: stats.UsersEstimate.Load},
		progress.Task{Name: "memberships", Done: stats.Memberships.Load},
	)
	start := time.Now()
	m, err := backup.Run(ctx, api, r.Store, bo, stats)
	failed = err != nil
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return err // Main says "interrupted"
		}
		return fmt.Errorf("backup of %s failed: %w", opts.Pool, err)
	}
	sum := backupSummary{Snapshot: m.ID, Incomplete: m.Incomplete, PoolID: m.PoolID, Users: m.Counts.Users, Groups: m.Counts.Groups,
		Memberships: m.Counts.Memberships, Objects: len(m.Objects), Seconds: time.Since(start).Seconds()}
	for _, o := range m.Objects {
		sum.Bytes += o.Size
	}
	if sum.Seconds > 0 {
		sum.UsersPerSec = float64(sum.Users) / sum.Seconds
	}
	if g.json() {
		err = printJSON(g.stdout, sum)
	} else {
		fmt.Fprintf(g.stdout, "snapshot %s of %s: %d users, %d groups, %d memberships in %d objects (%s) in %.1fs (%.0f users/s)\n",
			sum.Snapshot, sum.PoolID, sum.Users, sum.Groups, sum.Memberships, sum.Objects, humanBytes(sum.Bytes), sum.Seconds, sum.UsersPerSec)
	}
	if err != nil {
		return err
	}
	if !m.Complete() {
		// Written, kept, but not whole: exit 3, as restic does when a
		// snapshot was created but some files could not be read.
		return withCode(ExitIncomplete, fmt.Errorf("snapshot %s is %s", m.ID, incompleteNote(m)))
	}
	return nil
}

// progress shows tasks on stderr: bars on a terminal, log lines otherwise,
// nothing with --output json (stdout stays one document; stderr quiet).
func (g *globalOptions) progress(ctx context.Context, tasks ...progress.Task) (stop func()) {
	return g.progressOf(ctx, nil, tasks...)
}

// progressOf is progress for work that can say it failed (read at stop).
func (g *globalOptions) progressOf(ctx context.Context, failed func() bool, tasks ...progress.Task) (stop func()) {
	if g.json() {
		return func() {}
	}
	return progress.Start(ctx, progress.Options{Out: g.stderr, TTY: progress.IsTerminal(g.stderr), Failed: failed}, tasks...)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
