package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/drill"
	"github.com/cogvault/cogvault/internal/quota"
)

type drillOptions struct {
	Sample int
	Seed   int64
	Pool   string
	// Sweep deletes scratch pools that killed drills left behind instead.
	Sweep     bool
	OlderThan time.Duration
	DryRun    bool
}

func newDrillCommand(g *globalOptions) *cobra.Command {
	var opts drillOptions
	cmd := &cobra.Command{
		Use:   "drill --repo URL [SNAPSHOT|latest] [--sample N] | drill --sweep [--older-than 24h] [--dry-run]",
		Short: "Restore a snapshot into a scratch pool, compare, and delete the pool",
		Long: `Prove that a snapshot restores. The drill:
  1. creates a scratch pool in --region (default: AWS_REGION, the profile's,
     else the Region of the snapshot's pool) from the snapshot's configuration, as
     restore --create-pool does, named ` + drill.NamePrefix + `<run id> and tagged
     ` + drill.TagKey + `=<run id>, with deletion protection off, without
     the snapshot's Lambda triggers (listed in the report: a drill must not
     run production functions) and without a domain;
  2. restores all users into it, or --sample N of them (chosen by --seed:
     the same seed picks the same users), with their memberships;
  3. compares the scratch pool with the snapshot (users, groups and
     memberships; sub is new on every restored user and is not compared):
     a difference the restore's report predicted (an item it could not
     restore, or restored not exactly) is expected, any other is not;
  4. deletes the scratch pool, also after a failure or Ctrl-C. It first
     re-reads the pool and deletes it only when both its name and its tag
     mark it as this run's: the drill never deletes a pool it did not create.

A drill killed outright (kill -9, a Lambda past its deadline) cannot delete
its pool. 'cogvault drill --sweep' deletes such leftovers in --region: pools
named ` + drill.NamePrefix + `<run id> AND tagged ` + drill.TagKey + `=<that run id>,
created more than --older-than ago (default 24h: a drill still running is
younger). Each is re-read right before it is deleted. A pool without both
marks is never touched. --dry-run lists them and deletes nothing. The
worker's drill action sweeps before it starts. Needs
cognito-idp:ListUserPools besides the drill's own actions.

The report gives the measured time to restore, that time scaled to the
whole snapshot, the least time the whole snapshot takes at the account's
quotas (the pace cogvault keeps: provisioned rates where readable, times
--max-share, or --quota-rate; groups, then users, then memberships), and the
projection: the larger of the last two. --output json prints it all, with every
difference.

IAM: what 'cogvault iam-policy drill' prints (the restore's actions and
those that create a pool, on userpool/* in the Region: the scratch pool's id
is not known in advance; cognito-idp:DeleteUserPool on userpool/*; for
--sweep cognito-idp:ListUserPools on "*"). Whatever the policy allows, the
drill deletes only its own pool.

EXIT STATUS
  0  the restore matched the snapshot: nothing unexpected differs
  1  something unexpected differs, the drill failed, or the scratch pool
     could not be deleted (the error names it)
  2  bad flags, no such snapshot, or "latest" in a repository of several
     pools without --pool
  With --sweep: 0 swept (or, with --dry-run, listed), 1 a pool could not be
  read or deleted (the error names it).`,
		Example: `  cogvault drill --repo s3://my-backups/cognito latest --pool eu-west-1_AbC123 --region eu-west-1
  cogvault drill --repo ./backups latest --sample 1000 --seed 7 --output json
  cogvault drill --sweep --region eu-west-1 --older-than 24h --dry-run`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDrill(cmd.Context(), opts, g, args)
		},
	}
	cmd.Flags().IntVar(&opts.Sample, "sample", 0, "restore only `N` users, chosen by --seed, and the memberships among them (default: all)")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "which users --sample picks: the same seed picks the same users")
	cmd.Flags().StringVar(&opts.Pool, "pool", "", poolFlagHelp)
	cmd.Flags().BoolVar(&opts.Sweep, "sweep", false, "delete scratch pools that killed drills left behind (name and tag both the drill's), instead of drilling")
	cmd.Flags().DurationVar(&opts.OlderThan, "older-than", drill.DefaultSweepAge, "with --sweep: only pools created longer ago than this")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "with --sweep: list the pools it would delete, delete nothing")
	return cmd
}

func runDrill(ctx context.Context, opts drillOptions, g *globalOptions, args []string) error {
	if opts.Sample < 0 {
		return usageError("--sample %d: give a positive number of users, or leave it out to restore all", opts.Sample)
	}
	if opts.Sweep {
		if len(args) > 0 || opts.Sample > 0 {
			return usageError("--sweep takes no snapshot and no --sample: it only deletes leftover scratch pools")
		}
		return runDrillSweep(ctx, opts, g)
	}
	if opts.DryRun {
		return usageError("--dry-run goes with --sweep: a drill itself has no dry run")
	}
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return withCode(ExitUsage, err)
	}
	ref := "latest"
	if len(args) == 1 {
		ref = args[0]
	}
	m, err := resolveSnapshot(ctx, r, ref, opts.Pool)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	if region, ok := awsx.PoolRegion(m.PoolID); ok && g.Region == "" {
		g.poolRegion = region // the default: the snapshot's own Region
	}
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return err
	}
	api := cip.NewFromConfig(cfg)
	runID, err := newRunID(time.Now())
	if err != nil {
		return err
	}
	if !g.json() {
		fmt.Fprintf(g.stdout, "drill %s: snapshot %s of %s into scratch pool %s%s in %s\n", runID, m.ID, m.PoolID, drill.NamePrefix, runID, cfg.Region)
	}
	res, err := drill.Run(ctx, api, drill.Options{Repo: r, Manifest: m, RunID: runID, Sample: opts.Sample, Seed: opts.Seed, Pace: g.pace(ctx, api)})
	if res != nil {
		if perr := printDrill(g, res); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("drill %s: %w", runID, err)
	}
	if !res.OK() {
		return withCode(ExitError, fmt.Errorf("drill %s: %d unexpected difference(s) between snapshot %s and its restore", runID, len(res.Unexpected), m.ID))
	}
	return nil
}

// runDrillSweep deletes (or lists) scratch pools left behind.
func runDrillSweep(ctx context.Context, opts drillOptions, g *globalOptions) error {
	if opts.OlderThan <= 0 {
		return usageError("--older-than %s: give a positive duration, e.g. 24h", opts.OlderThan)
	}
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return err
	}
	res, err := drill.Sweep(ctx, cip.NewFromConfig(cfg), drill.SweepOptions{OlderThan: opts.OlderThan, DryRun: opts.DryRun})
	if res != nil {
		if perr := printSweep(g, res, cfg.Region); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func printSweep(g *globalOptions, res *drill.SweepResult, region string) error {
	if g.json() {
		return printJSON(g.stdout, res)
	}
	n := 0
	for _, p := range res.Pools {
		what := "deleted"
		switch {
		case p.Kept != "":
			what = "kept: " + p.Kept
		case res.DryRun:
			what = "would delete"
		default:
			n++
		}
		fmt.Fprintf(g.stdout, "  %s  %s  created %s  %s\n", p.PoolID, termEscape(p.Name), p.Created.UTC().Format(time.DateTime), what)
	}
	fmt.Fprintf(g.stdout, "drill sweep in %s: %d scratch pool(s) found, %d deleted\n", region, len(res.Pools), n)
	return nil
}

// newRunID names a drill: its start time and a random suffix, so that two
// drills never share a pool name or tag.
func newRunID(now time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("drill run id: %w", err)
	}
	return now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:]), nil
}

// pace is the rate cogvault keeps per operation: --quota-rate, else the
// account's provisioned rate where readable, else the default, times
// --max-share, capped per pool where the quota table says so.
func (g *globalOptions) pace(ctx context.Context, api *cip.Client) drill.Pace {
	ao := g.awsOptions()
	lim := awsx.NewLimiter(ao.Rates, ao.MaxShare)
	limits, err := awsx.ReadProvisioned(ctx, api, quota.UsedAdjustable())
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(g.stderr, "cogvault: %s\n", awsx.LimitsUnreadableNotice(err))
	}
	for c, l := range limits {
		if _, pinned := ao.Rates[c]; !pinned {
			lim.ApplyProvisioned(c, l)
		}
	}
	return func(op string) float64 {
		c, ok := quota.Of(op)
		if !ok {
			return 0
		}
		if pp := lim.PerPoolRate(c); pp > 0 && pp < lim.Rate(c) {
			return pp
		}
		return lim.Rate(c)
	}
}

func printDrill(g *globalOptions, res *drill.Result) error {
	if g.json() {
		return printJSON(g.stdout, res)
	}
	w := g.stdout
	if len(res.DroppedTriggers) > 0 {
		fmt.Fprintf(w, "  triggers     not carried into the scratch pool: %s\n", strings.Join(res.DroppedTriggers, ", "))
	}
	for _, it := range res.NotCarried {
		fmt.Fprintf(w, "  ! %s: %s\n", it.What, it.Reason)
	}
	users := fmt.Sprintf("%d of %d users", res.UsersDrilled, res.UsersInSnapshot)
	if res.Sampled {
		users += fmt.Sprintf(" (sample, seed %d)", res.Seed)
	}
	fmt.Fprintf(w, "  restored     %s, %d compared\n", users, res.UsersCompared)
	t := res.Timing
	fmt.Fprintf(w, "  time         measured %.1f s; whole snapshot: %.1f s scaled, %.1f s at the quotas; projected %.1f s\n",
		t.MeasuredSeconds, t.ExtrapolatedSeconds, t.QuotaSeconds, t.ProjectedSeconds)
	fmt.Fprintf(w, "  differences  %d expected (the restore report predicted them), %d unexpected\n", len(res.Expected), len(res.Unexpected))
	for _, l := range expectedLines(res.Expected) {
		fmt.Fprintf(w, "  ~ %s\n", l)
	}
	for _, d := range res.Unexpected {
		fmt.Fprintf(w, "  ! %s\n", differenceLine(d))
	}
	switch {
	case res.Deleted:
		fmt.Fprintf(w, "  scratch pool %s deleted\n", res.ScratchPool)
	case res.ScratchPool != "":
		fmt.Fprintf(w, "  scratch pool %s NOT deleted\n", res.ScratchPool)
	}
	return nil
}

func differenceLine(d drill.Difference) string {
	s := d.Kind + " " + termName(d.Username)
	if d.Group != "" {
		if d.Username != "" {
			s += " in"
		}
		s += " " + termName(d.Group)
	}
	return s + ": " + d.Change
}

// expectedLines counts the expected differences by kind, change and reason:
// a large pool has thousands of the same kind (--output json lists each).
func expectedLines(ds []drill.Difference) []string {
	var keys []string
	n := map[string]int{}
	for _, d := range ds {
		k := d.Kind + " " + d.Change + " (" + d.Reason + ")"
		if n[k] == 0 {
			keys = append(keys, k)
		}
		n[k]++
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%d × %s", n[k], k)
	}
	return out
}
