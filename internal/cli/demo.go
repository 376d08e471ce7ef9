package cli

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

type demoOptions struct {
	Users      int
	Groups     int
	Seed       uint64
	QuotaScale float64
}

func (o *demoOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Users, "users", 2000, "users in the demo pool")
	fs.IntVar(&o.Groups, "groups", 20, "groups in the demo pool")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated pool")
	fs.Float64Var(&o.QuotaScale, "quota-scale", 100, "multiply the fake's Cognito quotas so the demo finishes in seconds")
}

func newDemoCommand(g *globalOptions) *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run cogvault end to end against an in-process fake pool (offline)",
		Long: `Run cogvault end to end with no AWS account: start the fake Cognito in-process
with a generated pool, then read the whole pool through the real AWS SDK
client exactly as a backup does (16 concurrent ListUsers chains sharded by sub,
memberships per group, every call paced by its quota category), and print what
it found.

The fake's quotas are scaled up (×100 by default) so the demo finishes in
seconds; the run says so.

EXIT STATUS
  0  the demo completed and everything read matched the pool
  1  something failed
  2  bad flags`,
		Example: `  go run ./cmd/cogvault demo
  cogvault demo --users 20000 --groups 50 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

type demoReport struct {
	Endpoint    string         `json:"endpoint"`
	PoolID      string         `json:"poolId"`
	QuotaScale  float64        `json:"quotaScale"`
	Users       int            `json:"users"`
	ByStatus    map[string]int `json:"byStatus"`
	Disabled    int            `json:"disabled"`
	Groups      int            `json:"groups"`
	Memberships int            `json:"memberships"`
	Calls       int64          `json:"calls"`
	Throttles   int64          `json:"throttles"`
	Seconds     float64        `json:"seconds"`
}

func runDemo(ctx context.Context, opts demoOptions, g *globalOptions) error {
	if opts.Users < 0 || opts.Groups < 0 || opts.QuotaScale <= 0 {
		return usageError("--users and --groups must be ≥ 0 and --quota-scale positive")
	}
	start := time.Now()
	srv, err := cognitotest.Start("", cognitotest.Options{QuotaScale: opts.QuotaScale, Seed: opts.Seed})
	if err != nil {
		return err
	}
	defer srv.Close()
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "cogvault-demo", Users: opts.Users, Groups: opts.Groups, Seed: opts.Seed})
	if err != nil {
		return err
	}
	if !g.json() {
		fmt.Fprintf(g.stdout, "fake Cognito on %s, quotas at Cognito's defaults ×%g so the demo finishes in seconds\n", srv.URL, opts.QuotaScale)
		fmt.Fprintf(g.stdout, "generated pool %s: %d users, %d groups, %d memberships\n", res.PoolID, res.Users, res.Groups, res.Memberships)
	}

	// The demo never touches the user's AWS setup: explicit region, endpoint
	// and dummy credentials.
	ao := g.awsOptions()
	ao.Profile = ""
	ao.Region = srv.Region()
	ao.EndpointURL = srv.URL
	ao.Credentials = credentials.NewStaticCredentialsProvider("demo", "demo", "")
	ao.Limiter = awsx.NewLimiter(scaledDefaults(ao.Rates, opts.QuotaScale), ao.MaxShare)
	cfg, err := awsx.LoadConfig(ctx, ao)
	if err != nil {
		return err
	}
	c := cip.NewFromConfig(cfg)

	rep := demoReport{Endpoint: srv.URL, PoolID: res.PoolID, QuotaScale: opts.QuotaScale, ByStatus: map[string]int{}}
	type shardResult struct {
		byStatus map[string]int
		disabled int
		n        int
		err      error
	}
	shards := cognito.SubShards()
	results := make(chan shardResult, len(shards))
	for _, f := range shards {
		go func() {
			r := shardResult{byStatus: map[string]int{}}
			for u, err := range cognito.Users(ctx, c, res.PoolID, f) {
				if err != nil {
					r.err = err
					break
				}
				r.n++
				r.byStatus[string(u.UserStatus)]++
				if !u.Enabled {
					r.disabled++
				}
			}
			results <- r
		}()
	}
	for range shards {
		r := <-results
		if r.err != nil {
			return r.err
		}
		rep.Users += r.n
		rep.Disabled += r.disabled
		for k, v := range r.byStatus {
			rep.ByStatus[k] += v
		}
	}
	for grp, err := range cognito.Groups(ctx, c, res.PoolID) {
		if err != nil {
			return err
		}
		rep.Groups++
		for _, err := range cognito.GroupMembers(ctx, c, res.PoolID, aws.ToString(grp.GroupName)) {
			if err != nil {
				return err
			}
			rep.Memberships++
		}
	}
	for _, st := range srv.Stats() {
		rep.Calls += st.Calls
		rep.Throttles += st.Throttles
	}
	rep.Seconds = time.Since(start).Seconds()
	if rep.Users != res.Users || rep.Groups != res.Groups || rep.Memberships != res.Memberships {
		return fmt.Errorf("demo read %d users, %d groups, %d memberships but the pool has %d, %d, %d",
			rep.Users, rep.Groups, rep.Memberships, res.Users, res.Groups, res.Memberships)
	}
	if g.json() {
		return printJSON(g.stdout, rep)
	}
	fmt.Fprintf(g.stdout, "read back through the AWS SDK: %d users, %d groups, %d memberships — all match\n", rep.Users, rep.Groups, rep.Memberships)
	statuses := make([]string, 0, len(rep.ByStatus))
	for s := range rep.ByStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		fmt.Fprintf(g.stdout, "  %-22s %6d\n", s, rep.ByStatus[s])
	}
	fmt.Fprintf(g.stdout, "  %-22s %6d\n", "disabled", rep.Disabled)
	fmt.Fprintf(g.stdout, "%d API calls, %d throttled, in %.1fs\n", rep.Calls, rep.Throttles, rep.Seconds)
	return nil
}

// scaledDefaults is Cognito's default rates with overrides, times f: the
// demo paces itself to the fake's scaled quotas.
func scaledDefaults(overrides quota.Rates, f float64) quota.Rates {
	r := quota.Defaults()
	for c, v := range overrides {
		r[c] = v
	}
	return r.Scaled(f)
}
