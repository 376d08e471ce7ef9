package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/repo"
)

// 'cogvault checkpoints': the checkpoints restores leave in the repository
// (state, sub mapping, report; internal/repo/restorecp.go says when prune
// removes them).

type checkpointsRemoveOptions struct {
	Force  bool
	DryRun bool
	Grace  time.Duration
}

func newCheckpointsCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checkpoints",
		Short: "List and remove the checkpoints restores keep in the repository",
		Long: `A restore run with --state-in-repo, or by the Lambda worker in steps, keeps
its progress in the repository under checkpoints/restore/<target>/<snapshot>/:
the state, and once it finishes the sub mapping (old sub → new sub) and the
full report. They stay after the restore, because apps keyed on sub need the
mapping.

'cogvault prune' (and the worker's retention) removes the checkpoint of a
restore whose snapshot no longer exists (forgotten or removed; for a
restore at a time, the snapshot it started from), once it has written
nothing for the grace period: a restore still running writes at
every step and is never touched. The checkpoints of snapshots that exist
stay until you remove them with 'cogvault checkpoints remove'.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCheckpointsListCommand(g), newCheckpointsRemoveCommand(g))
	return cmd
}

func newCheckpointsListCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list --repo URL",
		Short: "List the restores' checkpoints",
		Long: `List the restores' checkpoints: target pool, snapshot, whether the restore
finished (its report is stored), whether the snapshot still exists, and the
time of the newest object. With --output json, one document.

EXIT STATUS
  0  listed
  1  the repository could not be read`,
		Example: `  cogvault checkpoints list --repo s3://my-backups/cognito`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheckpointsList(cmd.Context(), g)
		},
	}
}

func runCheckpointsList(ctx context.Context, g *globalOptions) error {
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return err
	}
	cps, err := r.RestoreCheckpoints(ctx, nil)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, map[string]any{"restores": cps})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSNAPSHOT\tFINISHED\tSNAPSHOT EXISTS\tOBJECTS\tNEWEST (UTC)")
	for _, c := range cps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", termEscape(c.Target), termEscape(c.Snapshot), yesNo(c.Finished), yesNo(c.SnapshotExists), c.Objects, c.Newest.UTC().Format(time.DateTime))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newCheckpointsRemoveCommand(g *globalOptions) *cobra.Command {
	var opts checkpointsRemoveOptions
	cmd := &cobra.Command{
		Use:   "remove TARGET SNAPSHOT --repo URL [--dry-run] [--force]",
		Short: "Remove the checkpoint of one restore",
		Long: `Remove the checkpoint of the restore of SNAPSHOT (its id, as 'checkpoints
list' shows it) into the pool TARGET: its state, sub mapping and report.
Take the sub mapping first if an app still needs it.

A restore that has no report yet and wrote within --grace may still be
running (a Step Functions execution, another laptop): it is refused unless
--force. Removing the state of a restore that then runs again makes it
start over, taking the users it created for existing ones.

Needs s3:ListBucket and s3:DeleteObject under checkpoints/: 'cogvault
iam-policy backup' grants them.

EXIT STATUS
  0  removed (or, with --dry-run, would be)
  1  no such checkpoint, the restore may be running, or the repository
     could not be changed
  2  bad arguments`,
		Example: `  cogvault checkpoints remove us-east-1_Target 20261124T220615.123Z-1a2b3c4d --repo s3://my-backups/cognito`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheckpointsRemove(cmd.Context(), g, args[0], args[1], opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be removed and change nothing")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "remove the checkpoint of an unfinished restore even if it wrote within --grace")
	cmd.Flags().DurationVar(&opts.Grace, "grace", repo.DefaultGrace, "an unfinished restore that wrote within this long may be running: refused without --force")
	return cmd
}

func runCheckpointsRemove(ctx context.Context, g *globalOptions, target, snapshotID string, opts checkpointsRemoveOptions) error {
	if opts.Grace < 0 {
		return usageError("--grace %s is negative", opts.Grace)
	}
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return err
	}
	c, err := r.RemoveRestoreCheckpoint(ctx, target, snapshotID, opts.Grace, opts.Force, opts.DryRun)
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, map[string]any{"dryRun": opts.DryRun, "removed": c})
	}
	verb := "removed"
	if opts.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(g.stdout, "%s checkpoint %s%s: %d object(s), %d bytes\n", verb, repo.CheckpointPrefix, termEscape(c.Name()), c.Objects, c.Bytes)
	return nil
}
