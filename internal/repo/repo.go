// Package repo reads and checks snapshots in a repository: it lists
// snapshots (a snapshot exists only when its manifest does), resolves
// "latest", streams a snapshot's records with every object's checksum
// verified, and verifies whole snapshots. It joins storage (where bytes live)
// and snapshot (what they mean); it must not import cli, progress or cobra.
package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"

	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Repo is a repository of snapshots in a Store.
type Repo struct {
	Store storage.Store
	// Config and Trust are set by Open: the repository's configuration and
	// what its signatures established.
	Config *Config
	Trust  Trust

	signed *signedStore // set by Open for a signed repository
}

// CheckWritable finds the writer's key of a signed repository, so that a
// command that cannot sign is refused before its first write.
func (r *Repo) CheckWritable(ctx context.Context) error {
	if r.signed == nil {
		return nil
	}
	_, err := r.signed.getSigner(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Store, err)
	}
	return nil
}

// New returns a Repo over store.
func New(store storage.Store) *Repo { return &Repo{Store: store} }

// ErrNoSnapshot means no snapshot matched.
var ErrNoSnapshot = errors.New("no such snapshot")

// Problem is a manifest that could not be read while listing.
type Problem struct {
	Key string
	Err error
}

// Snapshots returns every snapshot's manifest, oldest first, and the
// manifests that could not be read (listing goes on past them). When one
// of those fails its signature check, the error says so (wrapping
// sign.ErrSignature) and the lists are returned too.
func (r *Repo) Snapshots(ctx context.Context) ([]*snapshot.Manifest, []Problem, error) {
	var out []*snapshot.Manifest
	var problems []Problem
	for o, err := range r.Store.List(ctx, snapshot.ManifestPrefix) {
		if err != nil {
			return nil, nil, fmt.Errorf("list snapshots in %s: %w", r.Store, err)
		}
		id, ok := snapshot.IDFromManifestKey(o.Key)
		if !ok {
			continue
		}
		m, err := r.Manifest(ctx, id)
		if err != nil {
			problems = append(problems, Problem{Key: o.Key, Err: err})
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	// A forged manifest fails the listing itself, so that no caller picks
	// a snapshot beside it; callers that report (verify) still get both.
	return out, problems, refuseForgeries(problems)
}

// Manifest reads and validates one snapshot's manifest.
func (r *Repo) Manifest(ctx context.Context, id string) (*snapshot.Manifest, error) {
	key := snapshot.ManifestKey(id)
	rc, err := r.Store.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("snapshot %s: %w in %s (see 'cogvault snapshots')", id, ErrNoSnapshot, r.Store)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	m, err := snapshot.ParseManifest(b, key)
	if err != nil {
		return nil, Damaged(err)
	}
	if m.ID != id {
		return nil, fmt.Errorf("%s: %w: manifest says it is snapshot %s", key, snapshot.ErrFormat, m.ID)
	}
	return m, nil
}

// Errors Resolve wraps, so that callers can tell a bad reference (a usage
// error) from a repository that cannot be read.
var (
	// ErrAmbiguousPool means a reference ("latest", or an id prefix) matches
	// snapshots of more than one pool and no pool was named; the error is an
	// *AmbiguousPoolError.
	ErrAmbiguousPool = errors.New("the repository holds snapshots of more than one pool")
	// ErrAmbiguous means a reference matches more than one snapshot, or a
	// damaged manifest may be the real newest one.
	ErrAmbiguous = errors.New("ambiguous")
	// ErrWrongPool means the snapshot named is of another pool than the one
	// asked for; the error is a *WrongPoolError.
	ErrWrongPool = errors.New("snapshot of another pool")
)

// AmbiguousPoolError is Resolve's answer when Ref, without a pool, matches
// snapshots of several pools.
type AmbiguousPoolError struct {
	Ref   string
	Pools []string // sorted
	Count int      // snapshots matched
}

func (e *AmbiguousPoolError) Error() string {
	what := `"latest" is per pool`
	if e.Ref != "latest" {
		what = fmt.Sprintf("snapshot %q is ambiguous: %d snapshots start with it", e.Ref, e.Count)
	}
	return fmt.Sprintf("%s (%s): %s; pass --pool to name one (see 'cogvault snapshots')", ErrAmbiguousPool, strings.Join(e.Pools, ", "), what)
}

// Is makes errors.Is(err, ErrAmbiguousPool) and errors.Is(err, ErrAmbiguous) hold.
func (e *AmbiguousPoolError) Is(target error) bool {
	return target == ErrAmbiguousPool || target == ErrAmbiguous
}

// WrongPoolError is Resolve's answer when the snapshot named is of another
// pool than the one asked for.
type WrongPoolError struct {
	ID, PoolID, Want string
}

func (e *WrongPoolError) Error() string {
	return fmt.Sprintf("snapshot %s is of pool %s, not %s", e.ID, e.PoolID, e.Want)
}

// Is makes errors.Is(err, ErrWrongPool) hold.
func (e *WrongPoolError) Is(target error) bool { return target == ErrWrongPool }

// Resolve finds the snapshot ref names: "latest" (the newest snapshot of
// poolID), a full id, or an unambiguous id prefix. "latest" is per pool:
// with poolID "" it names the newest snapshot of the repository's only pool,
// and a repository holding snapshots of several pools gives ErrAmbiguousPool
// (the error lists them). A full id, or a prefix matching one snapshot,
// resolves without poolID; with poolID, a snapshot of another pool gives
// ErrWrongPool.
func (r *Repo) Resolve(ctx context.Context, ref, poolID string) (*snapshot.Manifest, error) {
	if ref != "latest" {
		if _, err := snapshot.ParseID(ref); err == nil {
			m, err := r.Manifest(ctx, ref)
			if err != nil {
				return nil, err
			}
			if poolID != "" && m.PoolID != poolID {
				return nil, wrongPool(m, poolID)
			}
			return m, nil
		}
	}
	all, problems, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	var match, otherPools []*snapshot.Manifest
	for _, m := range all {
		if ref != "latest" && !strings.HasPrefix(m.ID, ref) {
			continue
		}
		if poolID != "" && m.PoolID != poolID {
			otherPools = append(otherPools, m)
			continue
		}
		match = append(match, m)
	}
	if poolID == "" {
		if pools := PoolIDs(match); len(pools) > 1 {
			return nil, &AmbiguousPoolError{Ref: ref, Pools: pools, Count: len(match)}
		}
	}
	switch {
	case len(match) == 0 && ref == "latest" && poolID != "":
		return nil, fmt.Errorf("%w of pool %s in %s: run 'cogvault backup --pool %s' first", ErrNoSnapshot, poolID, r.Store, poolID)
	case len(match) == 0 && ref == "latest" && len(problems) > 0:
		return nil, fmt.Errorf("%w in %s: its only manifest(s) are damaged, e.g. %s: %w; run 'cogvault verify'", ErrNoSnapshot, r.Store, problems[0].Key, problems[0].Err)
	case len(match) == 0 && ref == "latest":
		return nil, fmt.Errorf("%w in %s: the repository has no complete snapshot yet (run 'cogvault backup')", ErrNoSnapshot, r.Store)
	case len(match) == 0 && len(otherPools) == 1:
		return nil, wrongPool(otherPools[0], poolID)
	case len(match) == 0:
		return nil, fmt.Errorf("snapshot %q: %w in %s (see 'cogvault snapshots')", ref, ErrNoSnapshot, r.Store)
	case ref == "latest":
		// A damaged manifest newer than the match may be the real latest:
		// never pick an older snapshot silently.
		newest := match[len(match)-1]
		for _, p := range problems {
			if id, ok := snapshot.IDFromManifestKey(p.Key); ok && id > newest.ID {
				return nil, fmt.Errorf("%s is damaged and newer than %s, so \"latest\" is %w: %w; name the snapshot to use, or run 'cogvault verify'", p.Key, newest.ID, ErrAmbiguous, p.Err)
			}
		}
		return newest, nil
	case len(match) > 1:
		return nil, fmt.Errorf("snapshot %q is %w: %d snapshots start with it; give more of the id", ref, ErrAmbiguous, len(match))
	}
	return match[0], nil
}

// refuseForgeries refuses to choose among snapshots when a manifest fails
// its signature check (or an encrypted repository holds a plaintext one):
// someone without the key wrote to the repository, and the forged manifest
// may be the one that should have been newest.
func refuseForgeries(problems []Problem) error {
	for _, p := range problems {
		if errors.Is(p.Err, sign.ErrSignature) {
			return fmt.Errorf("%w; refusing to choose a snapshot: run 'cogvault verify', move the object out of the repository, and check who can write to it", p.Err)
		}
	}
	return nil
}

func wrongPool(m *snapshot.Manifest, poolID string) error {
	return &WrongPoolError{ID: m.ID, PoolID: m.PoolID, Want: poolID}
}

// PoolIDs returns the distinct pool ids of manifests, sorted.
func PoolIDs(ms []*snapshot.Manifest) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if !seen[m.PoolID] {
			seen[m.PoolID] = true
			out = append(out, m.PoolID)
		}
	}
	sort.Strings(out)
	return out
}

// Pool reads a snapshot's pool configuration.
func (r *Repo) Pool(ctx context.Context, m *snapshot.Manifest) (*snapshot.PoolConfig, error) {
	for cfg, err := range records[snapshot.PoolConfig](ctx, r, m, snapshot.KindPool) {
		if err != nil {
			return nil, err
		}
		return &cfg, nil
	}
	return nil, fmt.Errorf("snapshot %s: %w: no pool configuration", m.ID, snapshot.ErrFormat)
}

// Users streams a snapshot's users; each object's checksum is verified.
func (r *Repo) Users(ctx context.Context, m *snapshot.Manifest) iter.Seq2[snapshot.User, error] {
	return records[snapshot.User](ctx, r, m, snapshot.KindUsers)
}

// Memberships streams a snapshot's group memberships.
func (r *Repo) Memberships(ctx context.Context, m *snapshot.Manifest) iter.Seq2[snapshot.Membership, error] {
	return records[snapshot.Membership](ctx, r, m, snapshot.KindMembers)
}

// records streams the records of every object of one kind, checking each
// object's size, sha256 and record count as it goes.
func records[T any](ctx context.Context, r *Repo, m *snapshot.Manifest, kind string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for _, o := range m.ObjectsOf(kind) {
			key := snapshot.DataKey(m.ID, o.Name)
			rc, err := r.Store.Get(ctx, key)
			if err != nil {
				yield(zero, fmt.Errorf("snapshot %s: %w", m.ID, err))
				return
			}
			vr := snapshot.NewVerifyingReader(rc, key, o)
			var n int64
			for v, err := range snapshot.Read[T](vr, key, kind) {
				if err != nil {
					// A decoder error on damaged bytes is a symptom; the
					// checksum over the whole object says what happened.
					if derr := vr.Drain(); derr != nil {
						err = derr
					}
					rc.Close()
					yield(zero, Damaged(err))
					return
				}
				n++
				if !yield(v, nil) {
					rc.Close()
					return
				}
			}
			err = vr.Drain()
			rc.Close()
			if err == nil && n != o.Records {
				err = fmt.Errorf("%s: %w: holds %d records, the manifest says %d", key, snapshot.ErrDamaged, n, o.Records)
			}
			if err != nil {
				yield(zero, Damaged(err))
				return
			}
		}
	}
}

// Damaged adds what to do to an error about damaged or unreadable snapshot
// data; other errors pass unchanged.
func Damaged(err error) error {
	if errors.Is(err, snapshot.ErrDamaged) || errors.Is(err, snapshot.ErrFormat) || errors.Is(err, storage.ErrNotExist) {
		return fmt.Errorf("%w; this snapshot cannot be used: restore another one (see 'cogvault snapshots') or run 'cogvault backup' again", err)
	}
	return err
}

// VerifyResult is what Verify found in one snapshot.
type VerifyResult struct {
	ID       string   `json:"id"`
	Objects  int      `json:"objects"`
	Bytes    int64    `json:"bytes"`
	Records  int64    `json:"records"`
	Problems []string `json:"problems,omitempty"`
}

// OK reports whether the snapshot is intact.
func (v *VerifyResult) OK() bool { return len(v.Problems) == 0 }

// Verify re-reads every object of a snapshot: it must exist, match its size
// and sha256 (stored bytes) and plain sha256 (decompressed bytes), decode
// record by record, and hold the number of records the manifest says. Every
// damaged object is reported by key; the error is for failures to read at
// all (the store is unreachable, ctx ended).
func (r *Repo) Verify(ctx context.Context, m *snapshot.Manifest) (*VerifyResult, error) {
	res := &VerifyResult{ID: m.ID}
	for _, o := range m.Objects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res.Objects++
		res.Bytes += o.Size
		n, err := r.verifyObject(ctx, m, o)
		res.Records += n
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			res.Problems = append(res.Problems, err.Error())
		}
	}
	return res, nil
}

func (r *Repo) verifyObject(ctx context.Context, m *snapshot.Manifest, o snapshot.ObjectInfo) (int64, error) {
	key := snapshot.DataKey(m.ID, o.Name)
	rc, err := r.Store.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return 0, fmt.Errorf("%s: missing: it does not exist in the repository, though the manifest lists it", key)
	}
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	vr := snapshot.NewVerifyingReader(rc, key, o)
	plain := newSHA256()
	var n int64
	var recErr error
	for raw, err := range snapshot.ReadChunkTee(vr, key, o.Kind, plain) {
		if err != nil {
			recErr = err
			break
		}
		n++
		if err := snapshot.CheckRecord(o.Kind, json.RawMessage(raw)); err != nil && recErr == nil {
			recErr = fmt.Errorf("%s: record %d: %w", key, n, err)
		}
	}
	// The checksum verdict comes first: it says the stored bytes are not
	// what was written, which explains any decoding error.
	if err := vr.Drain(); err != nil {
		return n, err
	}
	if recErr != nil {
		return n, recErr
	}
	if got := plain.hex(); got != o.PlainSHA256 {
		return n, fmt.Errorf("%s: %w: plain sha256 mismatch (want %.12s…, got %.12s…)", key, snapshot.ErrDamaged, o.PlainSHA256, got)
	}
	if n != o.Records {
		return n, fmt.Errorf("%s: %w: holds %d records, the manifest says %d", key, snapshot.ErrDamaged, n, o.Records)
	}
	return n, nil
}
