package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
)

type verifyOptions struct {
	Pool string
}

func (o *verifyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Pool, "pool", "", poolFlagHelp+"; without SNAPSHOT, verify only this pool's snapshots")
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	var opts verifyOptions
	cmd := &cobra.Command{
		Use:   "verify --repo URL [--pool POOL_ID] [SNAPSHOT|latest]",
		Short: "Re-read snapshots and check every object",
		Long: `Re-read every object of a snapshot (or of every snapshot, without an argument)
and check it against the manifest: present, same size and sha256 as stored,
same sha256 once decompressed, every record decodable, and the record counts
the manifest promises. Every damaged object is named.

In a signed repository every manifest (and config.json) must carry a valid
signature by the repository's key (--repo-key, COGVAULT_REPO_KEY or the trust
store): an unsigned or wrongly signed one is reported as damage, and so is a
plaintext data object in an age-encrypted repository. An unsigned repository
is checked with a warning; 'cogvault init --upgrade' signs it.

SNAPSHOT is an id, an unambiguous prefix of one, or "latest": the newest
snapshot of --pool. In a repository holding snapshots of several pools,
"latest" needs --pool; a full id needs nothing. Without SNAPSHOT, --pool
limits the check to that pool's snapshots (manifests too damaged to say their
pool are always reported).

EXIT STATUS
  0  no damage found
  1  damage found (the report names each damaged object), including a forged
     or unsigned manifest, a removed or replaced config.json
  2  the check could not run: bad flags, unreadable repository, an
     encrypted repository without --age-identity, no such
     snapshot, or "latest" without --pool in a repository of several pools
     (the error lists them)`,
		Example: `  cogvault verify --repo s3://my-backups/cognito
  cogvault verify --repo ./backups --pool us-east-1_AbC123 latest --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), opts, g, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runVerify(ctx context.Context, opts verifyOptions, g *globalOptions, args []string) error {
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return withCode(ExitUsage, err)
	}
	// Without the identity nothing can be decrypted, so nothing can be
	// checked: that is not damage, and forget/prune must not be advised.
	if r.Config != nil && r.Config.Encryption == repo.EncryptionAge && g.AgeIdentity == "" {
		return usageError("cannot check: the repository is encrypted; give --age-identity FILE (or set COGVAULT_AGE_IDENTITY)")
	}
	var targets []*snapshot.Manifest
	var results []*repo.VerifyResult
	if len(args) == 1 {
		m, err := resolveSnapshot(ctx, r, args[0], opts.Pool)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		targets = append(targets, m)
	} else {
		all, problems, err := r.Snapshots(ctx)
		if err != nil && !errors.Is(err, sign.ErrSignature) {
			return withCode(ExitUsage, err)
		}
		for _, m := range all {
			if opts.Pool == "" || m.PoolID == opts.Pool {
				targets = append(targets, m)
			}
		}
		for _, p := range problems {
			results = append(results, &repo.VerifyResult{ID: p.Key, Problems: []string{p.Err.Error()}})
		}
	}
	damaged := 0
	for _, m := range targets {
		res, err := r.Verify(ctx, m)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("verify snapshot %s: %w", m.ID, err))
		}
		results = append(results, res)
	}
	for _, res := range results {
		if !res.OK() {
			damaged++
		}
	}
	if g.json() {
		if err := printJSON(g.stdout, map[string]any{"snapshots": results, "damaged": damaged}); err != nil {
			return withCode(ExitUsage, err)
		}
	} else {
		for _, res := range results {
			if res.OK() {
				fmt.Fprintf(g.stdout, "snapshot %s: ok (%d objects, %s, %d records)\n", res.ID, res.Objects, humanBytes(res.Bytes), res.Records)
				continue
			}
			fmt.Fprintf(g.stdout, "snapshot %s: DAMAGED\n", res.ID)
			for _, p := range res.Problems {
				fmt.Fprintf(g.stdout, "  %s\n", p)
			}
		}
		if len(results) == 0 {
			fmt.Fprintln(g.stdout, "no snapshots to verify")
		}
	}
	if damaged > 0 {
		return withCode(ExitError, fmt.Errorf("%d of %d snapshot(s) damaged: restore from another snapshot (see 'cogvault snapshots') and run 'cogvault backup' again; 'cogvault forget' and 'prune' remove damaged ones", damaged, len(results)))
	}
	return nil
}
