package backup

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// maxManifest bounds a manifest read back (the repository reads them with
// the same bound).
const maxManifest = 64 << 20

// ObjectGetter reads a stored object back; the repository's store fits,
// and a signed repository's checks the signature on the way.
type ObjectGetter interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// settleManifest answers a manifest write that failed. A snapshot in steps
// has one id for every attempt of its last step, so a last step run twice
// (killed after its manifest and retried, or retried by the state machine
// beside the first attempt) is refused the create-once PUT because the
// other attempt stored this very snapshot, whole: that manifest is the
// answer. A write whose answer was lost may have stored it as well. The
// manifest is never deleted here: it may be another attempt's, which has
// already answered done and removed its checkpoints.
func (b *run) settleManifest(ctx context.Context, putErr error) (*snapshot.Manifest, error) {
	key := snapshot.ManifestKey(b.id)
	putErr = fmt.Errorf("write manifest %s: %w", key, putErr)
	g, ok := b.store.(ObjectGetter)
	if !ok {
		return nil, putErr
	}
	m, err := readManifest(ctx, g, key)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return nil, putErr
	case err != nil:
		return nil, fmt.Errorf("%w; reading it back: %w", putErr, err)
	case m.ID != b.id || m.PoolID != b.opts.PoolID:
		return nil, fmt.Errorf("%w: it holds snapshot %s of pool %s", putErr, m.ID, m.PoolID)
	}
	b.dropUnnamed(ctx, m)
	return m, nil
}

// readManifest reads and parses the manifest stored under key.
func readManifest(ctx context.Context, g ObjectGetter, key string) (*snapshot.Manifest, error) {
	rc, err := g.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return snapshot.ParseManifest(body, key)
}

// dropUnnamed removes the chunks this attempt wrote that m, another
// attempt's manifest, does not name: no reader will ever look at them.
// Failing leaves them to the snapshot's last step or prune.
func (b *run) dropUnnamed(ctx context.Context, m *snapshot.Manifest) {
	d, ok := b.store.(Deleter)
	if !ok {
		return
	}
	named := map[string]bool{}
	for _, o := range m.Objects {
		named[snapshot.DataKey(m.ID, o.Name)] = true
	}
	b.mu.Lock()
	keys := append([]string(nil), b.written...)
	b.mu.Unlock()
	for _, k := range keys {
		if !named[k] {
			_ = d.Delete(ctx, k)
		}
	}
}
