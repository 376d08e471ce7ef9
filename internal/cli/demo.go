package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
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
		Long: `Run cogvault end to end with no AWS account and no network:

  1. start the fake Cognito in-process with a generated pool (unicode names,
     values with commas, quotes and newlines, disabled, unconfirmed, MFA and
     federated users, groups);
  2. back it up through the real AWS SDK client into a local repository (a new
     temporary directory, or --repo), paced by Cognito's quota categories;
  3. verify the snapshot: re-read every object, check sha256 and counts;
  4. diff the snapshot against the live pool: zero differences expected;
  5. restore the snapshot into a new, empty pool (no message is sent);
  6. diff again: every difference must be one the restore report lists
     (federated-only users, TOTP secrets, states the admin API cannot create).

The fake's quotas are scaled up (×100 by default) so the demo finishes in
seconds; the run says so. The repository is kept so you can look at it.

EXIT STATUS
  0  the demo completed: the snapshot verified and matched the pool
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
	Endpoint    string  `json:"endpoint"`
	PoolID      string  `json:"poolId"`
	QuotaScale  float64 `json:"quotaScale"`
	Repository  string  `json:"repository"`
	Snapshot    string  `json:"snapshot"`
	Users       int64   `json:"users"`
	Groups      int64   `json:"groups"`
	Memberships int64   `json:"memberships"`
	Objects     int     `json:"objects"`
	Bytes       int64   `json:"bytes"`
	Verified    bool    `json:"verified"`
	Differences bool    `json:"differences"`

	RestoredTo             string  `json:"restoredTo"`
	RestoredUsers          int     `json:"restoredUsers"`
	NotRestored            int     `json:"notRestored"`
	RestoredNotExactly     int     `json:"restoredNotExactly"`
	MessagesSent           int64   `json:"messagesSent"`
	UnexplainedDifferences int     `json:"unexplainedDifferences"`
	Calls                  int64   `json:"calls"`
	Throttles              int64   `json:"throttles"`
	Seconds                float64 `json:"seconds"`
}

func runDemo(ctx context.Context, opts demoOptions, g *globalOptions) error {
	if opts.Users < 0 || opts.Groups < 0 || opts.QuotaScale <= 0 {
		return usageError("--users and --groups must be ≥ 0 and --quota-scale positive")
	}
	start := time.Now()
	say := func(format string, args ...any) {
		if !g.json() {
			fmt.Fprintf(g.stdout, format+"\n", args...)
		}
	}
	srv, err := cognitotest.Start("", cognitotest.Options{QuotaScale: opts.QuotaScale, Seed: opts.Seed})
	if err != nil {
		return err
	}
	defer srv.Close()
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "cogvault-demo", Users: opts.Users, Groups: opts.Groups, Seed: opts.Seed})
	if err != nil {
		return err
	}
	say("1. fake Cognito on %s (quotas at Cognito's defaults ×%g so the demo finishes in seconds)", srv.URL, opts.QuotaScale)
	say("   generated pool %s: %d users, %d groups, %d memberships", res.PoolID, res.Users, res.Groups, res.Memberships)

	api, err := fakeClient(ctx, g, srv, opts.QuotaScale)
	if err != nil {
		return err
	}

	dir := g.Repo
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cogvault-demo-"); err != nil {
			return fmt.Errorf("demo repository: %w", err)
		}
	}
	store, err := storage.Open(ctx, dir, storage.Options{})
	if err != nil {
		return err
	}
	keyDir := filepath.Clean(dir) + ".keys"
	r, pub, err := demoRepo(ctx, store, keyDir)
	if err != nil {
		return err
	}
	say("   repository %s is signed with a demo key in %s (public key %s), not in your ~/.config", store, keyDir, pub)
	m, err := backup.Run(ctx, api, r.Store, backup.Options{PoolID: res.PoolID, Region: srv.Region(), ToolVersion: Version()}, nil)
	if err != nil {
		return err
	}
	rep := demoReport{Endpoint: srv.URL, PoolID: res.PoolID, QuotaScale: opts.QuotaScale, Repository: store.String(), Snapshot: m.ID,
		Users: m.Counts.Users, Groups: m.Counts.Groups, Memberships: m.Counts.Memberships, Objects: len(m.Objects)}
	for _, o := range m.Objects {
		rep.Bytes += o.Size
	}
	say("2. backup: snapshot %s in %s", m.ID, store)
	say("   %d users, %d groups, %d memberships in %d objects (%s)", rep.Users, rep.Groups, rep.Memberships, rep.Objects, humanBytes(rep.Bytes))

	vr, err := r.Verify(ctx, m)
	if err != nil {
		return err
	}
	rep.Verified = vr.OK()
	if !vr.OK() {
		return fmt.Errorf("demo: verify found damage: %s", strings.Join(vr.Problems, "; "))
	}
	say("3. verify: every object re-read and checked (%d records, sha256 and counts match)", vr.Records)

	d, err := diff.Compare(ctx, diff.SnapshotSource{Repo: r, Manifest: m}, diff.LiveSource{API: api, PoolID: res.PoolID}, diff.Options{})
	if err != nil {
		return err
	}
	rep.Differences = !d.Empty()
	if rep.Differences {
		return fmt.Errorf("demo: the snapshot differs from the pool it was taken from")
	}
	say("4. diff: snapshot and live pool agree on all %d users, %d groups and %d memberships", d.UsersCompared, rep.Groups, rep.Memberships)

	// 5. Restore into a fresh pool with the same schema, then compare again.
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "cogvault-demo-restored", Seed: opts.Seed + 1})
	if err != nil {
		return err
	}
	sent := srv.MessagesSent()
	rr, err := restore.Run(ctx, api, r, m, restore.Options{Target: tgt.PoolID, StatePath: filepath.Join(dir, "restore-"+tgt.PoolID+".state")}, nil)
	if err != nil {
		return err
	}
	if err := writeMappings(filepath.Join(dir, "restore-"+tgt.PoolID+".subs"), rr.Mappings); err != nil {
		return err
	}
	rep.RestoredTo, rep.RestoredUsers, rep.NotRestored, rep.RestoredNotExactly = tgt.PoolID, rr.UsersCreate, len(rr.NotRestored), len(rr.Changed)
	rep.MessagesSent = srv.MessagesSent() - sent
	say("5. restore into new pool %s: %d users created (%d messages sent), %d groups, %d memberships, %d links",
		tgt.PoolID, rr.UsersCreate, rep.MessagesSent, rr.GroupsCreate, rr.MembershipsAdd, rr.LinksRestored)
	say("   not restorable: %d items (e.g. federated-only users); restored not exactly: %d (e.g. UNCONFIRMED → CONFIRMED)", len(rr.NotRestored), len(rr.Changed))
	d2, err := diff.Compare(ctx, diff.SnapshotSource{Repo: r, Manifest: m}, diff.LiveSource{API: api, PoolID: tgt.PoolID}, diff.Options{IgnoreAttributes: []string{"sub"}})
	if err != nil {
		return err
	}
	unexplained := unexplainedDifferences(d2, rr)
	rep.UnexplainedDifferences = len(unexplained)
	if len(unexplained) > 0 {
		return fmt.Errorf("demo: the restored pool differs from the snapshot beyond what the restore reported: %s", strings.Join(unexplained, "; "))
	}
	say("6. diff: restored pool matches the snapshot except for the %d users the restore report lists (subs are new: mapping in %s)",
		countUsers(d2), filepath.Join(dir, "restore-"+tgt.PoolID+".subs.csv"))

	for _, st := range srv.Stats() {
		rep.Calls += st.Calls
		rep.Throttles += st.Throttles
	}
	rep.Seconds = time.Since(start).Seconds()
	if g.json() {
		return printJSON(g.stdout, rep)
	}
	say("done in %.1fs: %d Cognito API calls, %d throttled", rep.Seconds, rep.Calls, rep.Throttles)
	say("look around: cogvault snapshots --repo %s --repo-key %s", store, pub)
	return nil
}

// scaledDefaults is Cognito's default rates with overrides, times f: the
// demo paces itself to the fake's scaled quotas.
// fakeClient is a Cognito client for an in-process fake whose quotas are
// Cognito's defaults × scale, paced to match. It never touches the user's
// AWS setup: explicit region, endpoint and dummy credentials.
func fakeClient(ctx context.Context, g *globalOptions, srv *cognitotest.Server, scale float64) (*cip.Client, error) {
	ao := g.awsOptions()
	ao.Profile, ao.Region, ao.EndpointURL = "", srv.Region(), srv.URL
	ao.Credentials = credentials.NewStaticCredentialsProvider("fake", "fake", "")
	ao.Limiter = awsx.NewLimiter(scaledDefaults(ao.Rates, scale), ao.MaxShare)
	cfg, err := awsx.LoadConfig(ctx, ao)
	if err != nil {
		return nil, err
	}
	return cip.NewFromConfig(cfg), nil
}

func scaledDefaults(overrides quota.Rates, f float64) quota.Rates {
	r := quota.Defaults()
	for c, v := range overrides {
		r[c] = v
	}
	return r.Scaled(f)
}

// unexplainedDifferences lists differences between a snapshot and the pool
// it was restored into that the restore report does not account for.
func unexplainedDifferences(d *diff.Report, rr *restore.Report) []string {
	listed := map[string]bool{}
	for _, it := range rr.NotRestored {
		listed[it.Username] = true
	}
	for _, it := range rr.Changed {
		listed[it.Username] = true
	}
	var out []string
	for _, u := range d.UsersAdded {
		out = append(out, "added user "+u)
	}
	for _, u := range d.UsersRemoved {
		if !listed[u] {
			out = append(out, "missing user "+u)
		}
	}
	for _, c := range d.UsersChanged {
		if !listed[c.Username] {
			out = append(out, "changed user "+c.Username)
		}
	}
	for _, g := range append(append(d.GroupsAdded, d.GroupsRemoved...), func() []string {
		var n []string
		for _, c := range d.GroupsChanged {
			n = append(n, c.Name)
		}
		return n
	}()...) {
		out = append(out, "group "+g)
	}
	for _, m := range d.MembershipsAdded {
		out = append(out, "added membership "+m.Username+" in "+m.Group)
	}
	for _, m := range d.MembershipsRemoved {
		if !listed[m.Username] {
			out = append(out, "missing membership "+m.Username+" in "+m.Group)
		}
	}
	return out
}

func countUsers(d *diff.Report) int {
	return len(d.UsersAdded) + len(d.UsersRemoved) + len(d.UsersChanged)
}
