package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
)

// repoStateRun is a restore --state-in-repo run: the state fetched from
// the repository, the restore's lease (a Lambda step of the same restore
// waits while this run holds it, and this run refuses to start while a
// step holds it), and the saves of the state while the run goes on.
type repoStateRun struct {
	rs        *restore.RepoState
	lease     *restore.Lease
	gen       int
	stopKeep  func()
	stopSaves func()
}

// How long the CLI's lease lasts unless renewed (renewed every quarter of
// it), and how often a run stores what it did so far: a killed run (kill
// -9, a laptop that sleeps for good) loses at most that much of its
// records.
const (
	cliLeaseTTL   = 2 * time.Minute
	stateSaveEach = 30 * time.Second
)

// startRepoState takes the lease of the restore of snapshot id into target,
// starts a new generation when that restore finished (running it again
// re-creates the users lost since; the finished one's sub mapping and
// report are kept under gen-N/), and fetches its state. Run the restore
// with the returned context: it ends when the lease is lost. The
// repository is opened again: with --at the snapshot is a scratch one, the
// state is not.
func startRepoState(ctx context.Context, g *globalOptions, target, id string) (*repoStateRun, context.Context, error) {
	home, err := g.openRepo(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	// Refused before the first write: the state could not be stored.
	if err := home.CheckWritable(ctx); err != nil {
		return nil, nil, withCode(ExitUsage, fmt.Errorf("--state-in-repo: %w", err))
	}
	lease, err := restore.AcquireLease(ctx, home, target, id, time.Now().Add(cliLeaseTTL))
	var busy *restore.BusyError
	if errors.As(err, &busy) {
		return nil, nil, fmt.Errorf("--state-in-repo: the restore of %s into %s is running elsewhere (a Lambda worker step, or another 'cogvault restore --state-in-repo'): %w; run this again after that", id, target, err)
	}
	if err != nil {
		return nil, nil, err
	}
	r := &repoStateRun{lease: lease}
	if r.gen, err = restore.StartGeneration(ctx, home, target, id); err == nil {
		r.rs, err = restore.FetchState(ctx, home, target, id, os.TempDir())
	}
	if err != nil {
		r.release(ctx)
		return nil, nil, err
	}
	kctx, stopKeep := lease.Keep(ctx, cliLeaseTTL)
	r.stopKeep = stopKeep
	r.stopSaves = saveEvery(kctx, r.rs, stateSaveEach)
	return r, kctx, nil
}

// saveEvery stores the state's new records every d until stopped; a failed
// save is tried again at the next tick and at the end.
func saveEvery(ctx context.Context, rs *restore.RepoState, d time.Duration) func() {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				_, _ = rs.Save(ctx)
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}

// where names the state for the report.
func (r *repoStateRun) where(target, id string) string {
	s := "the repository's " + repo.CheckpointPrefix + restore.StateCheckpoint(target, id)
	if r.gen > 1 {
		s += fmt.Sprintf(" (generation %d; earlier ones' sub mappings under gen-NNNNNN/)", r.gen)
	}
	return s
}

// finish stores what the run added to the state, whether it finished or
// not, and on success the sub mapping and the report (which marks the
// restore finished for 'checkpoints list' and prune); an interrupted run
// (Ctrl-C, SIGTERM) still stores its progress. Then it frees the lease.
func (r *repoStateRun) finish(ctx context.Context, rep *restore.Report, runErr error) error {
	r.stopSaves()
	r.stopKeep()
	defer r.rs.Remove()
	defer r.release(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := r.rs.Save(sctx); err != nil {
		return err
	}
	if runErr != nil || rep == nil {
		return nil
	}
	if err := r.rs.SaveMappings(sctx, rep.Mappings); err != nil {
		return err
	}
	return r.rs.SaveReport(sctx, rep)
}

func (r *repoStateRun) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = r.lease.Release(rctx) // unreleased, it frees itself at its time
}
