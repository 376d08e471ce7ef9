package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/legacy"
	"github.com/cogvault/cogvault/internal/storage"
)

type importLegacyOptions struct {
	From string
}

func (o *importLegacyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.From, "from", "", "where the legacy trigger wrote its cognito_user_<name> objects: s3://BUCKET[/PREFIX] or a path")
}

func newImportLegacyCommand(g *globalOptions) *cobra.Command {
	var opts importLegacyOptions
	cmd := &cobra.Command{
		Use:   "import-legacy --from URL --repo URL",
		Short: "Turn a legacy PostConfirmation backup into a cogvault snapshot",
		Long: `Read the objects a do-it-yourself PostConfirmation Lambda wrote (one object
per user named cognito_user_<userName>, holding the trigger's event JSON) and
write them as one snapshot in the repository, so that a team running that
design can restore, diff and verify with cogvault from now on.

Each object becomes one user: its attributes exactly as the event carried
them, its status from cognito:user_status. Objects that are not a usable
event are reported and skipped. Such a backup never held groups, disabled
flags, later attribute changes or pool configuration: take a real backup of
the pool with 'cogvault backup' as soon as you can.

EXIT STATUS
  0  every object was imported
  1  the import failed; no snapshot was written
  2  bad flags, or the source holds users of several pools
  3  the snapshot was written, but some objects were skipped (listed)`,
		Example: `  cogvault import-legacy --from s3://my-cognito-backups --repo s3://my-backups/cognito
  cogvault import-legacy --from ./downloaded-bucket --repo ./backups`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImportLegacy(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runImportLegacy(ctx context.Context, opts importLegacyOptions, g *globalOptions) error {
	if opts.From == "" {
		return usageError("--from is required: the bucket (s3://BUCKET[/PREFIX]) or directory the legacy trigger wrote to")
	}
	so := storage.Options{MustExist: true}
	if strings.HasPrefix(opts.From, "s3://") {
		cfg, err := g.otherConfig(ctx)
		if err != nil {
			return err
		}
		so.AWS = cfg
	}
	src, err := storage.Open(ctx, opts.From, so)
	if err != nil {
		return usageError("--from: %v", err)
	}
	r, err := g.createRepo(ctx, "")
	if err != nil {
		return err
	}
	sum, err := legacy.Scan(ctx, src)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	cfg, err := legacy.PoolConfig(sum.PoolID)
	if err != nil {
		return err
	}
	m, err := backup.WriteSnapshot(ctx, r.Store, backup.Records{Pool: cfg, Users: legacy.Users(ctx, src)},
		backup.Options{PoolID: sum.PoolID, Region: sum.Region, ToolVersion: Version()})
	if err != nil {
		return err
	}
	if g.json() {
		if err := printJSON(g.stdout, map[string]any{"snapshot": m.ID, "poolId": m.PoolID, "users": m.Counts.Users, "skipped": nonNil(sum.Skipped)}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "snapshot %s of %s: %d users imported from %s\n", m.ID, m.PoolID, m.Counts.Users, src)
		for _, s := range sum.Skipped {
			fmt.Fprintf(g.stdout, "  skipped %s\n", s)
		}
		fmt.Fprintln(g.stdout, "next: run 'cogvault backup --pool "+m.PoolID+"' for groups, disabled users and pool configuration")
	}
	if len(sum.Skipped) > 0 {
		return withCode(ExitIncomplete, fmt.Errorf("%d object(s) skipped (%s)", len(sum.Skipped), g.listed()))
	}
	return nil
}
