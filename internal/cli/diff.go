package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/repo"
)

type diffOptions struct {
	Pool       string // the pool whose snapshots SNAPSHOT names
	To         string // the live pool compared with (one SNAPSHOT)
	ShowValues bool
	Ignore     []string
	Config     bool
	MatchBy    string
}

func (o *diffOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Pool, "pool", "", poolFlagHelp)
	fs.StringVar(&o.To, "to", "", "with one SNAPSHOT: compare with this live pool, e.g. a restore target (default: the snapshot's own pool)")
	fs.BoolVar(&o.ShowValues, "show-values", false, "print old and new attribute values (they are personal data: off by default)")
	fs.BoolVar(&o.Config, "config", false, "also compare the configuration of two different pools (one recreated from the other: ids, names and dates ignored, app clients matched by name)")
	fs.StringSliceVar(&o.Ignore, "ignore-attribute", nil, "attribute names not to compare, e.g. sub after a restore (repeatable)")
	fs.StringVar(&o.MatchBy, "match-by", "username", "pair users by username, email or phone_number: a pool that signs in with email gives restored users new usernames, so compare it with its snapshot --match-by email")
}

func newDiffCommand(g *globalOptions) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "diff --repo URL [--pool POOL_ID] SNAPSHOT [SNAPSHOT2] [--to POOL_ID]",
		Short: "Compare a snapshot with the live pool or with another snapshot",
		Long: `Compare a snapshot with a live pool (one argument) or with a newer snapshot
(two arguments) and list users, groups and memberships that were added,
removed or changed, and, for two states of the same pool, configuration drift:
pool settings, app clients and identity providers added, removed or changed. Users are matched by username, or with --match-by
email (or phone_number) by that value, as after a restore into a pool that
signs in with email, where every user gets a new username; users are still
reported by username, never by email. For a changed user the
names of the changed attributes are listed, never their values unless
--show-values is given.

SNAPSHOT is an id from 'cogvault snapshots', an unambiguous prefix of one, or
"latest": the newest snapshot of --pool. A repository can hold snapshots of
several pools; there "latest" (or a prefix matching snapshots of several
pools) needs --pool, and a full id needs nothing. With one SNAPSHOT the live
pool compared with is --to, by default the snapshot's own pool. (A --pool the
repository holds no snapshot of is taken as the live pool, as before --to
existed.)

EXIT STATUS
  0  no differences
  1  differences found
  2  the comparison could not run: bad flags, no such snapshot or pool, or
     "latest" without --pool in a repository of several pools (the error
     lists them)`,
		Example: `  cogvault diff --repo s3://my-backups/cognito --pool us-east-1_AbC123 latest   # what changed since the last backup
  cogvault diff --repo ./backups latest --to us-east-1_NewPool1 --ignore-attribute sub   # check a restore
  cogvault diff --repo ./backups latest --to eu-west-1_EmailPool --match-by email --ignore-attribute sub
  cogvault diff --repo ./backups 20261120T0100 20261124T0100 --output json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.Context(), opts, g, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// matchBy is the attribute users are paired by ("" for the username).
func (o *diffOptions) matchBy() (string, error) {
	switch o.MatchBy {
	case "username":
		return "", nil
	case "email", "phone_number":
		return o.MatchBy, nil
	}
	return "", usageError("--match-by %q: accepted values are username, email and phone_number", o.MatchBy)
}

func runDiff(ctx context.Context, opts diffOptions, g *globalOptions, args []string) error {
	matchBy, err := opts.matchBy()
	if err != nil {
		return err
	}
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return withCode(ExitUsage, err)
	}
	src, live := opts.Pool, opts.To
	if live != "" && len(args) == 2 {
		return usageError("--to goes with one SNAPSHOT: it names the live pool to compare with")
	}
	if len(args) == 1 && live == "" && src != "" {
		// Before --to, --pool named the live pool: keep that meaning when
		// the repository holds no snapshot of it (a restore target).
		all, _, err := r.Snapshots(ctx)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		if !slices.Contains(repo.PoolIDs(all), src) {
			src, live = "", src
		}
	}
	oldM, err := resolveSnapshot(ctx, r, args[0], src)
	if errors.Is(err, repo.ErrAmbiguousPool) && live != "" && opts.To == "" {
		err = fmt.Errorf("%w; the repository holds no snapshot of --pool %s: to compare with it, name the source pool with --pool and %s with --to", err, live, live)
	}
	if err != nil {
		return withCode(ExitUsage, err)
	}
	oldSrc := diff.SnapshotSource{Repo: r, Manifest: oldM}
	var newSrc diff.Source
	var against string
	samePool := false
	if len(args) == 2 {
		newM, err := resolveSnapshot(ctx, r, args[1], src)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		newSrc = diff.SnapshotSource{Repo: r, Manifest: newM}
		against = "snapshot " + newM.ID
		samePool = newM.PoolID == oldM.PoolID
	} else {
		pool := live
		if pool == "" {
			pool = oldM.PoolID
			// The live pool is the snapshot's: its id gives the Region.
			if err := g.usePoolRegion("snapshot "+oldM.ID+" of", pool); err != nil {
				return err
			}
		}
		cfg, err := g.awsConfig(ctx)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		api := cip.NewFromConfig(cfg)
		if err := checkPool(ctx, api, pool, cfg.Region); err != nil {
			return withCode(ExitUsage, err)
		}
		newSrc = diff.LiveSource{API: api, PoolID: pool}
		against = "live pool " + pool
		samePool = pool == oldM.PoolID
	}
	// MFA settings are in a snapshot only with backup --mfa, never in a
	// listing of the live pool: compare them between two snapshots only.
	// Configuration drift means something only between states of one pool.
	rep, err := diff.Compare(ctx, oldSrc, newSrc, diff.Options{ShowValues: opts.ShowValues, IgnoreAttributes: opts.Ignore,
		CompareMFA: len(args) == 2, ComparePool: samePool, CrossPool: opts.Config && !samePool, MatchBy: matchBy})
	if err != nil {
		return withCode(ExitUsage, err)
	}
	if g.json() {
		if err := printJSON(g.stdout, map[string]any{"from": oldM.ID, "to": against, "differences": !rep.Empty(), "report": rep}); err != nil {
			return withCode(ExitUsage, err)
		}
	} else {
		printDiff(g.stdout, oldM.ID, against, rep)
	}
	if !rep.Empty() {
		return withCode(ExitError, fmt.Errorf("snapshot %s and %s differ", oldM.ID, against))
	}
	return nil
}

func printDiff(w io.Writer, from, to string, r *diff.Report) {
	fmt.Fprintf(w, "comparing snapshot %s with %s\n", from, to)
	for _, u := range r.UsersAdded {
		fmt.Fprintf(w, "+ user %s\n", termName(u))
	}
	for _, u := range r.UsersRemoved {
		fmt.Fprintf(w, "- user %s\n", termName(u))
	}
	for _, c := range r.UsersChanged {
		var parts []string
		if len(c.Attributes) > 0 {
			var names []string
			for _, a := range c.Attributes {
				if a.Old != "" || a.New != "" {
					names = append(names, fmt.Sprintf("%s %q → %q", a.Name, a.Old, a.New))
				} else {
					names = append(names, a.Name)
				}
			}
			parts = append(parts, "attributes "+strings.Join(names, ", "))
		}
		if c.Status != nil {
			parts = append(parts, fmt.Sprintf("status %s → %s", c.Status[0], c.Status[1]))
		}
		if c.Enabled != nil {
			parts = append(parts, fmt.Sprintf("enabled %v → %v", c.Enabled[0], c.Enabled[1]))
		}
		if c.MFA {
			parts = append(parts, "MFA settings")
		}
		fmt.Fprintf(w, "~ user %s: %s\n", termName(c.Username), strings.Join(parts, "; "))
	}
	for _, gname := range r.GroupsAdded {
		fmt.Fprintf(w, "+ group %s\n", termName(gname))
	}
	for _, gname := range r.GroupsRemoved {
		fmt.Fprintf(w, "- group %s\n", termName(gname))
	}
	for _, c := range r.GroupsChanged {
		fmt.Fprintf(w, "~ group %s: %s\n", termName(c.Name), strings.Join(c.Fields, ", "))
	}
	for _, m := range r.MembershipsAdded {
		fmt.Fprintf(w, "+ member %s in group %s\n", termName(m.Username), termName(m.Group))
	}
	for _, m := range r.MembershipsRemoved {
		fmt.Fprintf(w, "- member %s in group %s\n", termName(m.Username), termName(m.Group))
	}
	if p := r.Pool; p != nil {
		if len(p.Settings) > 0 {
			fmt.Fprintf(w, "~ pool settings: %s\n", strings.Join(p.Settings, ", "))
		}
		named := func(kind string, added, removed []string, changed []diff.GroupChange) {
			for _, c := range added {
				fmt.Fprintf(w, "+ %s %s\n", kind, termName(c))
			}
			for _, c := range removed {
				fmt.Fprintf(w, "- %s %s\n", kind, termName(c))
			}
			for _, c := range changed {
				fmt.Fprintf(w, "~ %s %s: %s\n", kind, termName(c.Name), strings.Join(c.Fields, ", "))
			}
		}
		named("app client", p.ClientsAdded, p.ClientsRemoved, p.ClientsChanged)
		named("identity provider", p.ProvidersAdded, p.ProvidersRemoved, p.ProvidersChanged)
		named("resource server", p.ResourceServersAdded, p.ResourceServersRemoved, p.ResourceServersChanged)
	}
	if r.Empty() {
		fmt.Fprintf(w, "no differences (%d users compared)\n", r.UsersCompared)
		return
	}
	fmt.Fprintf(w, "%d users added, %d removed, %d changed; %d groups added, %d removed, %d changed; %d memberships added, %d removed\n",
		len(r.UsersAdded), len(r.UsersRemoved), len(r.UsersChanged), len(r.GroupsAdded), len(r.GroupsRemoved), len(r.GroupsChanged),
		len(r.MembershipsAdded), len(r.MembershipsRemoved))
}
