package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

type forgetOptions struct {
	Policy snapshot.Policy
	Pool   string
	DryRun bool
	Prune  bool
	Grace  time.Duration
}

func (o *forgetOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Policy.Last, "keep-last", 0, "keep the N newest snapshots")
	fs.IntVar(&o.Policy.Hourly, "keep-hourly", 0, "keep the newest snapshot of each of the last N hours that have one")
	fs.IntVar(&o.Policy.Daily, "keep-daily", 0, "keep the newest snapshot of each of the last N days that have one (UTC)")
	fs.IntVar(&o.Policy.Weekly, "keep-weekly", 0, "keep the newest snapshot of each of the last N ISO weeks that have one")
	fs.IntVar(&o.Policy.Monthly, "keep-monthly", 0, "keep the newest snapshot of each of the last N months that have one")
	fs.IntVar(&o.Policy.Yearly, "keep-yearly", 0, "keep the newest snapshot of each of the last N years that have one")
	fs.DurationVar(&o.Policy.Within, "keep-within", 0, "keep every snapshot taken within this long of the pool's newest, e.g. 72h")
	fs.StringVar(&o.Pool, "pool", "", "apply the policy to this pool's snapshots only (default: every pool, each on its own)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print what would be forgotten and change nothing")
	fs.BoolVar(&o.Prune, "prune", false, "also prune: remove the forgotten snapshots' data right away")
	fs.DurationVar(&o.Grace, "grace", repo.DefaultGrace, "with --prune: leave data of unfinished backups younger than this alone (forgotten snapshots' data go at once)")
}

func newForgetCommand(g *globalOptions) *cobra.Command {
	var opts forgetOptions
	cmd := &cobra.Command{
		Use:   "forget --repo URL --keep-daily N [--keep-…] [--dry-run] [--prune]",
		Short: "Forget snapshots a retention policy does not keep",
		Long: `Apply a retention policy to each pool's snapshots and forget those it does not
keep: their manifests are deleted, so they no longer exist for snapshots,
restore or diff. Their data are removed by --prune, or by a later
'cogvault prune', at once: as in restic, the data of a forgotten snapshot
do not wait. --grace protects only the data of backups that never finished
(one may still be running); --grace 0s means no wait at all.

The rules are restic's: --keep-daily 7 keeps the newest snapshot of each of
the last 7 days that have a snapshot, and so on for each rule; a snapshot kept
by any rule is kept. Buckets are UTC. The newest snapshot of every pool is
always kept, so forget never leaves a pool without a snapshot. Each pool is
considered on its own.

A snapshot a restore still reads is kept, and its decision says so: one an
unfinished restore's checkpoint names (a restore in steps, or one run with
--state-in-repo, that has not stored its report; for a restore --at, the
snapshot it started from), however long ago it last ran, as a failed
restore may be resumed. Once the restore finishes, or 'cogvault checkpoints
remove' removes its checkpoint, a later forget forgets it.

Journal events are not forgotten here: prune removes those older than their
pool's oldest remaining snapshot, as no point in time before it can be
computed any more.

Needs s3:ListBucket, s3:GetObject and s3:DeleteObject on the repository. On a
versioned bucket a delete leaves a noncurrent version (a lifecycle rule
expires it); with S3 Object Lock the versions stay until their retention
ends, which is what Object Lock is for.

EXIT STATUS
  0  done (or, with --dry-run, planned)
  1  the repository could not be read or changed
  2  bad flags, or no --keep-* rule given`,
		Example: `  cogvault forget --repo s3://my-backups/cognito --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run
  cogvault forget --repo ./backups --keep-last 3 --prune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runForget(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runForget(ctx context.Context, opts forgetOptions, g *globalOptions) error {
	if opts.Policy.Empty() {
		return usageError("give at least one rule: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --keep-within")
	}
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return err
	}
	all, problems, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(g.stderr, "cogvault: damaged manifest %s (kept): %s\n", termEscape(p.Key), termEscape(p.Err.Error()))
	}
	var ms []*snapshot.Manifest
	for _, m := range all {
		if opts.Pool == "" || m.PoolID == opts.Pool {
			ms = append(ms, m)
		}
	}
	decisions, err := snapshot.Apply(ms, opts.Policy)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	forgotten, err := r.Forget(ctx, decisions, opts.DryRun)
	if err != nil {
		return err
	}
	var pruned *repo.PruneReport
	if opts.Prune {
		if pruned, err = r.Prune(ctx, repo.PruneOptions{Grace: opts.Grace, DryRun: opts.DryRun}); err != nil {
			return err
		}
	}
	if g.json() {
		return printJSON(g.stdout, map[string]any{"policy": opts.Policy.String(), "dryRun": opts.DryRun, "decisions": jsonDecisions(decisions), "forgotten": nonNil(forgotten), "prune": pruned})
	}
	verb := "forgotten"
	if opts.DryRun {
		verb = "would be forgotten"
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT\tPOOL\tTAKEN (UTC)\tDECISION")
	for _, d := range decisions {
		what := verb
		if d.Keep {
			what = "keep: " + strings.Join(d.Reasons, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.Manifest.ID, d.Manifest.PoolID, d.Manifest.Start.UTC().Format(time.DateTime), what)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "policy %s: %d snapshot(s) %s, %d kept\n", opts.Policy, len(forgotten), verb, len(decisions)-len(forgotten))
	if pruned != nil {
		printPrune(g, pruned, opts.DryRun)
	} else if len(forgotten) > 0 && !opts.DryRun {
		fmt.Fprintln(g.stdout, "run 'cogvault prune' to remove their data")
	}
	return nil
}

type jsonDecision struct {
	ID      string   `json:"id"`
	PoolID  string   `json:"poolId"`
	Keep    bool     `json:"keep"`
	Reasons []string `json:"reasons,omitempty"`
}

func jsonDecisions(ds []snapshot.Decision) []jsonDecision {
	out := make([]jsonDecision, 0, len(ds))
	for _, d := range ds {
		out = append(out, jsonDecision{ID: d.Manifest.ID, PoolID: d.Manifest.PoolID, Keep: d.Keep, Reasons: d.Reasons})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type pruneOptions struct {
	DryRun bool
	Grace  time.Duration
}

func newPruneCommand(g *globalOptions) *cobra.Command {
	var opts pruneOptions
	cmd := &cobra.Command{
		Use:   "prune --repo URL [--dry-run]",
		Short: "Remove data no snapshot refers to, and journal events no restore can use",
		Long: `Remove from the repository:
  - the data of forgotten snapshots, at once;
  - the data of backups that never finished (no manifest), once older than
    --grace, so that a backup running right now is never touched;
  - journal events older than the start of their pool's oldest snapshot;
  - checkpoints of restores whose snapshot is gone (for a restore --at, the
    snapshot it started from), once they wrote nothing for --grace (see
    'cogvault checkpoints --help').
Data of a snapshot whose manifest exists but cannot be read are kept.

Needs s3:ListBucket, s3:GetObject and s3:DeleteObject on the repository; see
'cogvault forget --help' for versioned and Object Lock buckets.

EXIT STATUS
  0  done (or, with --dry-run, planned)
  1  the repository could not be read or changed
  2  bad flags`,
		Example: `  cogvault prune --repo s3://my-backups/cognito --dry-run`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := g.openRepo(cmd.Context(), "")
			if err != nil {
				return err
			}
			rep, err := r.Prune(cmd.Context(), repo.PruneOptions{Grace: opts.Grace, DryRun: opts.DryRun})
			if err != nil {
				return err
			}
			if g.json() {
				return printJSON(g.stdout, rep)
			}
			printPrune(g, rep, opts.DryRun)
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be removed and change nothing")
	cmd.Flags().DurationVar(&opts.Grace, "grace", repo.DefaultGrace, "leave data of unfinished backups younger than this alone (0s: no wait)")
	return cmd
}

func printPrune(g *globalOptions, rep *repo.PruneReport, dryRun bool) {
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	fmt.Fprintf(g.stdout, "prune %s: %d data object(s) (%d bytes) of %d snapshot(s), %d journal event(s), %d temporary file(s) of killed writes\n",
		verb, rep.DataObjects, rep.DataBytes, len(rep.Snapshots), rep.JournalEvents, rep.TempFiles)
	for _, id := range rep.Young {
		fmt.Fprintf(g.stdout, "  %s has no manifest yet but is younger than the grace period: left alone\n", id)
	}
	for _, c := range rep.Checkpoints {
		fmt.Fprintf(g.stdout, "  %s checkpoint %s%s: its snapshot is gone\n", verb, repo.CheckpointPrefix, termEscape(c))
	}
	for _, c := range rep.YoungCheckpoints {
		fmt.Fprintf(g.stdout, "  checkpoint %s%s: its snapshot is gone, but it wrote within the grace period (a restore may be running): left alone\n", repo.CheckpointPrefix, termEscape(c))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(g.stdout, "  %s\n", n)
	}
}
