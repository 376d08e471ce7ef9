package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// A restore of one snapshot into one target may be run again after it
// finished, to re-create the users lost since (the seed design's use). A
// new run must not continue the finished one's state: the users it marked
// done would be passed over though they are gone. So a new run (a request
// without "resume", a CLI run) of a finished restore starts a new
// generation: the finished one's sub mapping and report are kept under
// gen-NNNNNN/ beside the state, its state segments are removed, and the
// new run starts from an empty state. The current generation stays at the
// top, so its report.json still marks it finished for 'checkpoints list',
// remove and prune; a generation whose report was archived is gen-N's.

// genPrefix starts the directory of an archived generation.
const genPrefix = "gen-"

// checkpointListing is what one listing of a restore's checkpoint shows.
type checkpointListing struct {
	states   []string     // state segments, names relative to the prefix
	report   bool         // report.json: the current generation finished
	archived map[int]bool // gen-N → it has its report (archived whole)
}

func listCheckpoint(ctx context.Context, rp *repo.Repo, prefix string) (*checkpointListing, error) {
	names, err := rp.Checkpoints(ctx, prefix)
	if err != nil {
		return nil, err
	}
	c := &checkpointListing{archived: map[int]bool{}}
	for _, n := range names {
		rel := strings.TrimPrefix(n, prefix)
		var g int
		switch {
		case strings.HasPrefix(rel, "state-"):
			c.states = append(c.states, rel)
		case rel == repo.RestoreReportName || rel == repo.RestoreReportName+nextSuffix:
			c.report = true // (.next: a replace cut short)
		case strings.HasPrefix(rel, genPrefix):
			if _, err := fmt.Sscanf(rel, genPrefix+"%06d/", &g); err == nil {
				c.archived[g] = c.archived[g] || strings.HasSuffix(rel, "/"+repo.RestoreReportName)
			}
		}
	}
	return c, nil
}

// generation is the number of the current generation: one more than the
// newest archived whole.
func (c *checkpointListing) generation() int {
	g := 0
	for n, whole := range c.archived {
		if whole {
			g = max(g, n)
		}
	}
	return g + 1
}

// Generation says which generation of the restore of snapshotID into
// target is the current one (1 until a finished one was run again), and
// whether it finished.
func Generation(ctx context.Context, rp *repo.Repo, target, snapshotID string) (gen int, finished bool, err error) {
	c, err := listCheckpoint(ctx, rp, StateCheckpoint(target, snapshotID))
	if err != nil {
		return 0, false, err
	}
	return c.generation(), c.report, nil
}

// GenerationCheckpoint is the name prefix of archived generation gen.
func GenerationCheckpoint(target, snapshotID string, gen int) string {
	return fmt.Sprintf("%s%s%06d/", StateCheckpoint(target, snapshotID), genPrefix, gen)
}

// StartGeneration begins a new generation when the current one finished:
// it archives its sub mapping and report (the report last: it marks the
// archive whole), then removes its state, sub mapping and report (the
// report last, so that a removal cut short still looks finished and is
// archived again, never continued). Call it holding the lease. It answers
// the current generation's number, new or not.
func StartGeneration(ctx context.Context, rp *repo.Repo, target, snapshotID string) (int, error) {
	prefix := StateCheckpoint(target, snapshotID)
	c, err := listCheckpoint(ctx, rp, prefix)
	if err != nil {
		return 0, err
	}
	gen := c.generation()
	if !c.report {
		return gen, nil
	}
	arch := GenerationCheckpoint(target, snapshotID, gen)
	for _, name := range []string{"submap.json", repo.RestoreReportName} {
		if err := copyCheckpoint(ctx, rp, prefix+name, arch+name); err != nil {
			return 0, fmt.Errorf("restore generation %d: keep %s: %w", gen, name, err)
		}
	}
	doomed := append(c.states, "submap.json", "submap.json"+nextSuffix, "report.json"+nextSuffix, repo.RestoreReportName)
	for _, name := range doomed {
		if err := rp.Store.Delete(ctx, repo.CheckpointPrefix+prefix+name); err != nil {
			return 0, fmt.Errorf("restore generation %d: remove %s: %w", gen, name, err)
		}
	}
	return gen + 1, nil
}

// copyCheckpoint copies a checkpoint object replace stored (absent: nothing
// to copy) to a new name; one a cut-short earlier copy stored is kept.
func copyCheckpoint(ctx context.Context, rp *repo.Repo, from, to string) error {
	rc, err := readCheckpoint(ctx, rp, from)
	if errors.Is(err, storage.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	err = rp.PutCheckpoint(ctx, to, rc)
	if errors.Is(err, storage.ErrExist) {
		return nil
	}
	return err
}

// ReadReport reads the stored report of a finished restore (gen 0: the
// current generation; else an archived one).
func ReadReport(ctx context.Context, rp *repo.Repo, target, snapshotID string, gen int) (*Report, error) {
	name := ReportCheckpoint(target, snapshotID)
	if gen > 0 {
		name = GenerationCheckpoint(target, snapshotID, gen) + repo.RestoreReportName
	}
	rc, err := readCheckpoint(ctx, rp, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var rep Report
	b, err := io.ReadAll(rc)
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		return nil, fmt.Errorf("read restore report %s: %w", name, err)
	}
	return &rep, nil
}
