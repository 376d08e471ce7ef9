package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

type verifyOptions struct{}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	var opts verifyOptions
	return &cobra.Command{
		Use:   "verify --repo URL [SNAPSHOT|latest]",
		Short: "Re-read snapshots and check every object",
		Long: `Re-read every object of a snapshot (or of every snapshot, without an argument)
and check it against the manifest: present, same size and sha256 as stored,
same sha256 once decompressed, every record decodable, and the record counts
the manifest promises. Every damaged object is named.

EXIT STATUS
  0  no damage found
  1  damage found (the report names each damaged object)
  2  the check could not run: bad flags, unreadable repository, no such snapshot`,
		Example: `  cogvault verify --repo s3://my-backups/cognito
  cogvault verify --repo ./backups latest --output json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd.Context(), opts, g, args)
		},
	}
}

func runVerify(ctx context.Context, _ verifyOptions, g *globalOptions, args []string) error {
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return withCode(ExitUsage, err)
	}
	var targets []*snapshot.Manifest
	var results []*repo.VerifyResult
	if len(args) == 1 {
		m, err := r.Resolve(ctx, args[0], "")
		if err != nil {
			return withCode(ExitUsage, err)
		}
		targets = append(targets, m)
	} else {
		all, problems, err := r.Snapshots(ctx)
		if err != nil {
			return withCode(ExitUsage, err)
		}
		targets = all
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
