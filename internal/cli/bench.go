package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

type benchOptions struct {
	Users        int
	Groups       int
	RestoreUsers int
	QuotaScale   float64
	Seed         uint64
}

func (o *benchOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Users, "users", 20000, "users in the pool the backup reads")
	fs.IntVar(&o.Groups, "groups", 0, "groups in that pool (memberships are listed group by group)")
	fs.IntVar(&o.RestoreUsers, "restore-users", 300, "users restored through the admin API (0: no restore)")
	fs.Float64Var(&o.QuotaScale, "quota-scale", 1, "multiply Cognito's default quotas, on the fake and in cogvault's pacing alike")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated pools")
}

func newBenchCommand(g *globalOptions) *cobra.Command {
	var opts benchOptions
	cmd := &cobra.Command{
		Use:   "bench [--users N] [--groups N] [--restore-users N] [--quota-scale F]",
		Short: "Measure backup and restore speed as a share of the Cognito quota ceiling",
		Long: `Run a backup and a restore against the in-process fake Cognito with its
quotas ON, and report how close each comes to the ceiling the quotas allow:
the only speed that matters against a real pool, where the quotas, not
cogvault, are the limit. No AWS account or network is used.

The backup is bound by the UserList quota (30 calls/s by default, 60 items a
call: 1,800 items/s); a restore through the admin API by UserAccountRecovery
(AdminSetUserPassword, 30/s) for users and UserUpdate
(AdminAddUserToGroup, 25/s) for memberships. --quota-scale multiplies both
the fake's quotas and cogvault's pacing, to measure a raised quota or to
finish sooner; shares are of the scaled ceilings. Throttled calls are
counted: a pacer that overshoots shows them.

The fake runs in this process, so memory is not reported here: measure
'cogvault backup' against 'cogvault fake-cognito' in another process with
/usr/bin/time -v (see README "Speed and memory").

EXIT STATUS
  0  measured
  1  a step failed
  2  bad flags`,
		Example: `  cogvault bench
  cogvault bench --users 100000 --groups 40 --restore-users 0 --quota-scale 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// benchStep is one measured run.
type benchStep struct {
	Step      string  `json:"step"`
	Items     int64   `json:"items"`
	Seconds   float64 `json:"seconds"`
	Operation string  `json:"operation"`
	Category  string  `json:"category"`
	Calls     int64   `json:"calls"`
	CallsPerS float64 `json:"callsPerSecond"`
	Ceiling   float64 `json:"ceilingCallsPerSecond"`
	Share     float64 `json:"shareOfCeiling"`
	Throttles int64   `json:"throttles"`
}

func runBench(ctx context.Context, opts benchOptions, g *globalOptions) error {
	if opts.Users <= 0 || opts.Groups < 0 || opts.RestoreUsers < 0 || opts.QuotaScale <= 0 {
		return usageError("--users must be positive, --groups and --restore-users ≥ 0, --quota-scale positive")
	}
	srv, err := cognitotest.Start("", cognitotest.Options{QuotaScale: opts.QuotaScale, Seed: opts.Seed})
	if err != nil {
		return err
	}
	defer srv.Close()
	api, err := fakeClient(ctx, g, srv, opts.QuotaScale)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cogvault-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	measure := func(step, op string, items int64, d time.Duration, ops ...string) benchStep {
		cat, _ := quota.Of(op)
		d = max(d, time.Millisecond) // a phase too short to time still gets a finite rate
		s := benchStep{Step: step, Items: items, Seconds: d.Seconds(), Operation: op, Category: string(cat)}
		for _, o := range append([]string{op}, ops...) {
			st := srv.OpStats(o)
			s.Calls += st.Calls - st.Throttles
			s.Throttles += st.Throttles
		}
		s.CallsPerS = float64(s.Calls) / s.Seconds
		s.Ceiling = quota.DefaultRate(cat) * opts.QuotaScale
		s.Share = s.CallsPerS / s.Ceiling
		return s
	}
	var steps []benchStep

	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "bench", Users: opts.Users, Groups: opts.Groups, Seed: opts.Seed})
	if err != nil {
		return err
	}
	store, err := storage.NewDir(filepath.Join(dir, "backup"))
	if err != nil {
		return err
	}
	srv.ResetStats()
	start := time.Now()
	m, err := backup.Run(ctx, api, store, backup.Options{PoolID: src.PoolID, Region: srv.Region(), ToolVersion: Version()}, nil)
	if err != nil {
		return err
	}
	steps = append(steps, measure("backup", "ListUsers", m.Counts.Users+m.Counts.Memberships, time.Since(start), "ListUsersInGroup"))

	if opts.RestoreUsers > 0 {
		small, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "bench-restore", Users: opts.RestoreUsers, Groups: 10, Seed: opts.Seed + 1})
		if err != nil {
			return err
		}
		rstore, err := storage.NewDir(filepath.Join(dir, "restore"))
		if err != nil {
			return err
		}
		rm, err := backup.Run(ctx, api, rstore, backup.Options{PoolID: small.PoolID, ToolVersion: Version()}, nil)
		if err != nil {
			return err
		}
		target, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "bench-target", Seed: opts.Seed + 2})
		if err != nil {
			return err
		}
		srv.ResetStats()
		stats := &restore.Stats{}
		start := time.Now()
		// The users phase ends when the first membership is added.
		stop, phase := make(chan struct{}), make(chan time.Duration, 1)
		go func() {
			for stats.Memberships.Load() == 0 {
				select {
				case <-stop:
					phase <- 0
					return
				case <-time.After(time.Millisecond):
				}
			}
			phase <- time.Since(start)
		}()
		rep, err := restore.Run(ctx, api, repo.New(rstore), rm, restore.Options{Target: target.PoolID, StatePath: filepath.Join(dir, "restore.state")}, stats)
		close(stop)
		usersDone := <-phase
		if err != nil {
			return err
		}
		total := time.Since(start)
		if usersDone == 0 {
			usersDone = total
		}
		steps = append(steps,
			measure("restore users", "AdminSetUserPassword", int64(rep.UsersCreate), usersDone),
			measure("restore memberships", "AdminAddUserToGroup", int64(rep.MembershipsAdd), total-usersDone))
	}

	if g.json() {
		return printJSON(g.stdout, map[string]any{"quotaScale": opts.QuotaScale, "maxShare": g.MaxShare, "steps": steps})
	}
	fmt.Fprintf(g.stdout, "fake Cognito with quotas at Cognito's defaults ×%g; cogvault paced to --max-share %g\n", opts.QuotaScale, g.MaxShare)
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tITEMS\tSECONDS\tBINDING CALL (CATEGORY)\tCALLS/S\tCEILING/S\tSHARE\tTHROTTLED")
	for _, s := range steps {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s (%s)\t%.1f\t%.0f\t%.1f%%\t%d\n", s.Step, s.Items, s.Seconds, s.Operation, s.Category, s.CallsPerS, s.Ceiling, 100*s.Share, s.Throttles)
	}
	return tw.Flush()
}
