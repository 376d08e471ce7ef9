package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// RepoState keeps a restore's state file in the repository instead of on
// one machine's disk, so that a restore begun in one place (a Lambda
// invocation, a laptop) is finished in another. The state is append-only,
// so each run stores what it appended as a new segment
// (checkpoints/restore/<target>/<snapshot>/state-NNNNNN): a segment is
// small, one run's users, and no run rewrites another's. Fetch gathers
// the segments into a local file (0600) that Run uses as Options.StatePath.
type RepoState struct {
	mu     sync.Mutex // Save runs now and then during a run (the CLI) and at its end
	rp     *repo.Repo
	prefix string // checkpoint name prefix of this restore
	path   string // the local copy
	base   int64  // its size when fetched: what Save need not store
	next   int    // number of the next segment
}

// StateCheckpoint is the checkpoint name prefix of the restore of snapshot
// into target.
func StateCheckpoint(target, snapshotID string) string {
	return repo.RestoreCheckpointPrefix + target + "/" + snapshotID + "/"
}

// FetchState copies the restore's state from the repository into a new
// file in dir (none stored yet: an empty file).
func FetchState(ctx context.Context, rp *repo.Repo, target, snapshotID, dir string) (*RepoState, error) {
	s := &RepoState{rp: rp, prefix: StateCheckpoint(target, snapshotID), next: 1}
	names, err := rp.Checkpoints(ctx, s.prefix)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "cogvault-restore-*.state")
	if err != nil {
		return nil, fmt.Errorf("restore state: %w", err)
	}
	s.path = f.Name()
	err = s.gather(ctx, f, names)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(s.path)
		return nil, err
	}
	return s, nil
}

// gather appends the state segments to f, in order.
func (s *RepoState) gather(ctx context.Context, f *os.File, names []string) error {
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	for _, n := range names {
		var num int
		if _, err := fmt.Sscanf(strings.TrimPrefix(n, s.prefix), "state-%06d", &num); err != nil {
			continue // the sub mapping, or something else beside the state
		}
		rc, err := s.rp.GetCheckpoint(ctx, n)
		if err != nil {
			return fmt.Errorf("restore state: %w", err)
		}
		k, err := io.Copy(f, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("restore state: read %s: %w", n, err)
		}
		s.base += k
		s.next = max(s.next, num+1)
	}
	return nil
}

// Path is the local state file to give Run.
func (s *RepoState) Path() string { return s.path }

// Save stores what runs appended to the local file since Fetch (or the
// last Save) as the next segment and says how many bytes that was. Only
// whole lines are stored: a torn last line is left for the local file's
// next opening to cut off. It may be called while a run appends.
func (s *RepoState) Save(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if err != nil {
		return 0, fmt.Errorf("restore state: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(s.base, io.SeekStart); err != nil {
		return 0, fmt.Errorf("restore state: %w", err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, fmt.Errorf("restore state: %w", err)
	}
	b = b[:bytes.LastIndexByte(b, '\n')+1]
	if len(b) == 0 {
		return 0, nil
	}
	if err := s.putSegment(ctx, b); err != nil {
		return 0, err
	}
	s.base += int64(len(b))
	return len(b), nil
}

// putSegment stores b as the next state segment. A number already taken
// is passed over, never written over: by another run whose lease ran out
// and that stored late (both runs' records are kept, in the order stored),
// unless it holds b itself: this run's own earlier put that failed after it
// landed, which must not be stored twice.
func (s *RepoState) putSegment(ctx context.Context, b []byte) error {
	for range 100 {
		name := fmt.Sprintf("%sstate-%06d", s.prefix, s.next)
		err := s.rp.PutCheckpoint(ctx, name, bytes.NewReader(b))
		switch {
		case err == nil:
			s.next++
			return nil
		case !errors.Is(err, storage.ErrExist):
			return fmt.Errorf("save restore state: %w", err)
		}
		s.next++
		if same, err := s.holds(ctx, name, b); err != nil || same {
			return err
		}
	}
	return fmt.Errorf("save restore state: 100 segment numbers before %sstate-%06d are taken: %w", s.prefix, s.next, storage.ErrExist)
}

// holds says whether the checkpoint object name holds b.
func (s *RepoState) holds(ctx context.Context, name string, b []byte) (bool, error) {
	rc, err := s.rp.GetCheckpoint(ctx, name)
	if err != nil {
		return false, fmt.Errorf("save restore state: %w", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		return false, fmt.Errorf("save restore state: read %s: %w", name, err)
	}
	return bytes.Equal(got, b), nil
}

// SaveMappings stores the restore's sub mapping (old sub, new sub, old and
// new username, as --mapping-file's JSON) beside its state, replacing an
// earlier one: a later run may have created more users.
func (s *RepoState) SaveMappings(ctx context.Context, maps []SubMapping) error {
	return s.replace(ctx, "submap.json", "sub mapping", maps)
}

// ReportCheckpoint names where SaveReport keeps a restore's full report.
func ReportCheckpoint(target, snapshotID string) string {
	return StateCheckpoint(target, snapshotID) + repo.RestoreReportName
}

// SaveReport stores the run's full report (every item, usernames included)
// beside its state, replacing an earlier one, so that an answer that must
// stay small and free of names (the Lambda's) can point at it.
func (s *RepoState) SaveReport(ctx context.Context, rep *Report) error {
	return s.replace(ctx, repo.RestoreReportName, "report", rep)
}

// replace stores v as JSON under name beside the state, replacing an
// earlier one (what is the object, for errors). Objects are create-once,
// so the new one is stored first as name.next, then the old one is
// deleted, the new one stored under name and name.next deleted: a run
// killed in between leaves name or name.next, never neither (readCheckpoint
// reads name.next when name is missing).
func (s *RepoState) replace(ctx context.Context, name, what string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	name = s.prefix + name
	next := name + nextSuffix
	if err := s.putFresh(ctx, next, b); err != nil {
		return fmt.Errorf("save %s: %w", what, err)
	}
	if err := s.rp.Store.Delete(ctx, repo.CheckpointPrefix+name); err != nil {
		return fmt.Errorf("replace %s: %w", what, err)
	}
	if err := s.rp.PutCheckpoint(ctx, name, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("save %s: %w", what, err)
	}
	if err := s.rp.Store.Delete(ctx, repo.CheckpointPrefix+next); err != nil {
		return fmt.Errorf("replace %s: %w", what, err)
	}
	return nil
}

// nextSuffix names the new copy replace stores before it removes the old.
const nextSuffix = ".next"

// putFresh stores b under name, deleting what a killed replace left there.
func (s *RepoState) putFresh(ctx context.Context, name string, b []byte) error {
	err := s.rp.PutCheckpoint(ctx, name, bytes.NewReader(b))
	if !errors.Is(err, storage.ErrExist) {
		return err
	}
	if err := s.rp.Store.Delete(ctx, repo.CheckpointPrefix+name); err != nil {
		return err
	}
	return s.rp.PutCheckpoint(ctx, name, bytes.NewReader(b))
}

// readCheckpoint opens an object replace stored: name, or name.next when a
// replace was killed between its delete and its put.
func readCheckpoint(ctx context.Context, rp *repo.Repo, name string) (io.ReadCloser, error) {
	rc, err := rp.GetCheckpoint(ctx, name)
	if errors.Is(err, storage.ErrNotExist) {
		if rc2, err2 := rp.GetCheckpoint(ctx, name+nextSuffix); err2 == nil {
			return rc2, nil
		}
	}
	return rc, err
}

// Remove deletes the local copy.
func (s *RepoState) Remove() { os.Remove(s.path) }
