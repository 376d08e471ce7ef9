package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/snapshot"
)

type snapshotsOptions struct {
	Pool string
}

func (o *snapshotsOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Pool, "pool", "", "only snapshots of this user pool (the pool \"latest\" is taken from by other commands)")
}

func newSnapshotsCommand(g *globalOptions) *cobra.Command {
	var opts snapshotsOptions
	cmd := &cobra.Command{
		Use:   "snapshots --repo URL [--pool POOL_ID]",
		Short: "List the snapshots in a repository",
		Long: `List the complete snapshots in a repository, oldest first: id, pool, when it
was taken and what it holds. A backup that never finished has no manifest and
is not listed. Manifests that cannot be read are reported on stderr. A
snapshot that was written but is not whole (an optional read was refused, or
fewer users were listed than the pool estimates: backup exited 3) says so in
its NOTE column ("incomplete: poolConfig.mfa (AccessDeniedException)") and in
the "incomplete" member of --output json.

A repository can hold snapshots of several pools. Without --pool every pool's
snapshots are listed; with it only that pool's. The commands that read
snapshots ("latest" in diff, verify, restore; journal) take --pool too, and
need it when the repository holds more than one pool: they exit 2, listing
the pools.

EXIT STATUS
  0  listed (possibly none)
  1  the repository could not be read, or a manifest is damaged
  2  bad flags`,
		Example: `  cogvault snapshots --repo s3://my-backups/cognito
  cogvault snapshots --repo ./backups --pool us-east-1_AbC123 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSnapshots(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runSnapshots(ctx context.Context, opts snapshotsOptions, g *globalOptions) error {
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return err
	}
	all, problems, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	list := []*snapshot.Manifest{}
	for _, m := range all {
		if opts.Pool == "" || m.PoolID == opts.Pool {
			list = append(list, m)
		}
	}
	for _, p := range problems {
		fmt.Fprintf(g.stderr, "cogvault: damaged manifest %s: %s\n", termEscape(p.Key), termEscape(p.Err.Error()))
	}
	if g.json() {
		if err := printJSON(g.stdout, list); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SNAPSHOT\tPOOL\tTAKEN (UTC)\tDURATION\tUSERS\tGROUPS\tMEMBERSHIPS\tNOTE")
		for _, m := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", m.ID, m.PoolID, m.Start.UTC().Format(time.DateTime),
				m.End.Sub(m.Start).Round(time.Second), m.Counts.Users, m.Counts.Groups, m.Counts.Memberships, incompleteNote(m))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d damaged manifest(s); run 'cogvault verify' for details", len(problems))
	}
	return nil
}

// incompleteNote says what an incomplete snapshot lacks ("" when whole):
// "incomplete: poolConfig.mfa (AccessDeniedException)".
func incompleteNote(m *snapshot.Manifest) string {
	if m.Complete() {
		return ""
	}
	parts := make([]string, 0, len(m.Incomplete))
	for _, g := range m.Incomplete {
		parts = append(parts, fmt.Sprintf("%s (%s)", g.What, g.Why))
	}
	return "incomplete: " + strings.Join(parts, "; ")
}
