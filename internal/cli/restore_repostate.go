package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cogvault/cogvault/internal/restore"
)

// fetchRepoState copies the state of the restore of snapshot id into
// target from the repository (restore --state-in-repo). The repository is
// opened again: with --at the snapshot is a scratch one, the state is not.
func fetchRepoState(ctx context.Context, g *globalOptions, target, id string) (*restore.RepoState, error) {
	home, err := g.openRepo(ctx, "")
	if err != nil {
		return nil, err
	}
	// Refused before the first write: the state could not be stored.
	if err := home.CheckWritable(ctx); err != nil {
		return nil, withCode(ExitUsage, fmt.Errorf("--state-in-repo: %w", err))
	}
	return restore.FetchState(ctx, home, target, id, os.TempDir())
}

// storeRepoState stores what the run added to the state, whether it
// finished or not, and on success the sub mapping and the report (which
// marks the restore finished for 'checkpoints list' and prune); an
// interrupted run (Ctrl-C) still stores its progress.
func storeRepoState(ctx context.Context, rs *restore.RepoState, rep *restore.Report, runErr error) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := rs.Save(sctx); err != nil {
		return err
	}
	if runErr != nil || rep == nil {
		return nil
	}
	if err := rs.SaveMappings(sctx, rep.Mappings); err != nil {
		return err
	}
	return rs.SaveReport(sctx, rep)
}
