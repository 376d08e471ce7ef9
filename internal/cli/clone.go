package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/snapshot"
)

type cloneOptions struct {
	From        string
	Name        string
	ToRegion    string
	ToProfile   string
	ToEndpoint  string
	MapFile     string
	IDMapFile   string
	StateFile   string
	MappingFile string
	StateDir    string
	DryRun      bool
	Via         string
	RoleArn     string
	// AllowTriggers is restore's --allow-triggers.
	AllowTriggers bool
}

func (o *cloneOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.From, "from", "", "the pool to clone, e.g. us-east-1_AbC123 (in --region / --profile)")
	fs.StringVar(&o.Name, "name", "", "name of the new pool (default: the old pool's name)")
	fs.StringVar(&o.ToRegion, "to-region", "", "Region of the new pool (default: the source pool's Region, i.e. --region or the pool id's)")
	fs.StringVar(&o.ToProfile, "to-profile", "", "AWS profile of the account of the new pool (default: --profile)")
	fs.StringVar(&o.ToEndpoint, "to-endpoint-url", "", "send the new pool's calls to this `URL` (a second fake-cognito, in tests)")
	fs.StringVar(&o.MapFile, "map", "", "JSON `file` rewriting what cannot be carried (see 'cogvault restore --help')")
	fs.StringVar(&o.IDMapFile, "id-map-file", "", "where to write old → new pool and app client ids")
	fs.StringVar(&o.StateFile, "state-file", "", "restore progress file (resumable; see 'cogvault restore --help')")
	fs.StringVar(&o.MappingFile, "mapping-file", "", "where to write the old-sub → new-sub mapping")
	fs.StringVar(&o.StateDir, "state-dir", "", stateDirHelp)
	fs.BoolVar(&o.DryRun, "dry-run", false, "back up, then print what would be created and restored; create nothing")
	fs.StringVar(&o.Via, "via", "admin", "how users are restored: admin or import (see 'cogvault restore --help')")
	fs.StringVar(&o.RoleArn, "import-role-arn", "", "with --via import: the role Cognito assumes in the new pool's account")
	fs.BoolVar(&o.AllowTriggers, "allow-triggers", false, "restore users although the new pool gets Lambda triggers that act on them (see 'cogvault restore --help'); without it such a clone is refused before the pool is created")
}

func newCloneCommand(g *globalOptions) *cobra.Command {
	var opts cloneOptions
	cmd := &cobra.Command{
		Use:   "clone --from POOL_ID [--to-region REGION] [--to-profile PROFILE] [--map FILE] [--dry-run]",
		Short: "Copy a pool, configuration and users, to another Region or account",
		Long: `Clone a user pool in one command: back it up (into --repo, or a private
temporary repository removed afterwards), create a new pool from the
snapshot's configuration in --to-region (default: the source pool's
Region) and the account of --to-profile (default: the source's), and restore the users, groups and memberships into it. It is exactly
'cogvault backup' followed by 'cogvault restore --create-pool': see
'cogvault restore --help' for what is carried, what --map rewrites, and the
id and sub mappings written for applications.

Users get new subs and sign in again through "forgot password"; sessions and
refresh tokens do not move. Clone a pool when its users can take that, or
restore into a pool that serves them while they migrate.

EXIT STATUS
  0  cloned
  1  failed (the new pool, if created, is left; resume with 'cogvault restore --to')
  2  bad flags
  3  cloned, with items not carried (listed)`,
		Example: `  cogvault clone --from us-east-1_AbC123 --region us-east-1 --to-region eu-west-1 --dry-run
  cogvault clone --from us-east-1_AbC123 --region us-east-1 --to-region eu-west-1 --to-profile prod-eu --map map.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClone(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runClone(ctx context.Context, opts cloneOptions, g *globalOptions) error {
	if opts.From == "" {
		return usageError("--from is required: the pool to clone (see 'cogvault pools')")
	}
	src := *g
	if src.Repo == "" {
		dir, err := os.MkdirTemp("", "cogvault-clone-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		src.Repo = dir
	}
	// In JSON mode each step's document is collected and printed as one.
	var backupOut, restoreOut bytes.Buffer
	if g.json() {
		src.stdout = &backupOut
	}
	if err := runBackup(ctx, backupOptions{Pool: opts.From, ChunkRecords: snapshot.DefaultChunkRecords}, &src); err != nil {
		return fmt.Errorf("clone: back up %s: %w", opts.From, err)
	}
	r, err := src.openRepo(ctx, "")
	if err != nil {
		return err
	}
	m, err := resolveSnapshot(ctx, r, "latest", opts.From)
	if err != nil {
		return err
	}
	name := opts.Name
	if name == "" {
		name = m.PoolName
	}
	dst := src
	dst.cfgs = nil
	if opts.ToRegion != "" {
		dst.Region = opts.ToRegion
	}
	if opts.ToProfile != "" {
		dst.Profile = opts.ToProfile
	}
	if opts.ToEndpoint != "" {
		dst.EndpointURL = opts.ToEndpoint
	}
	if g.json() {
		dst.stdout = &restoreOut
	}
	rerr := runRestore(ctx, restoreOptions{CreatePool: name, MapFile: opts.MapFile, IDMapFile: opts.IDMapFile, StateFile: opts.StateFile,
		MappingFile: opts.MappingFile, StateDir: opts.StateDir, DryRun: opts.DryRun, Via: opts.Via, RoleArn: opts.RoleArn, OnExisting: "skip", AllowTriggers: opts.AllowTriggers}, &dst, []string{m.ID})
	if g.json() {
		doc := map[string]json.RawMessage{"backup": rawOrNull(backupOut.Bytes()), "restore": rawOrNull(restoreOut.Bytes())}
		if err := printJSON(g.stdout, doc); err != nil {
			return err
		}
	}
	return rerr
}

func rawOrNull(b []byte) json.RawMessage {
	if !json.Valid(b) {
		return json.RawMessage("null")
	}
	return bytes.TrimSpace(b)
}
