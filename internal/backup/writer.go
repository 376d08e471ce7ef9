package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// recordWriter lets many token chains write into one chunked stream.
type recordWriter struct {
	mu  sync.Mutex
	w   *snapshot.ChunkWriter
	err error
}

func (b *run) newWriter(ctx context.Context, kind string) (*recordWriter, error) {
	name, err := b.chunkNamer(kind)
	if err != nil {
		return nil, err
	}
	return &recordWriter{w: snapshot.NewChunkWriter(snapshot.ChunkWriterOptions{
		Kind:       kind,
		MaxRecords: b.opts.ChunkRecords,
		Name:       name,
		Create:     func(name string) (io.WriteCloser, error) { return b.create(ctx, name) },
	})}, nil
}

func (w *recordWriter) write(ctx context.Context, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Write(v)
	return w.err
}

func (w *recordWriter) abort(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w.Abort(err)
}

func (w *recordWriter) close() ([]snapshot.ObjectInfo, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	objs, err := w.w.Close()
	if w.err != nil {
		return nil, w.err
	}
	return objs, err
}

// writePool writes the pool configuration as the snapshot's one pool object.
func (b *run) writePool(ctx context.Context, cfg *snapshot.PoolConfig) ([]snapshot.ObjectInfo, error) {
	w := snapshot.NewChunkWriter(snapshot.ChunkWriterOptions{
		Kind:       snapshot.KindPool,
		MaxRecords: 1,
		Name:       func(int) string { return snapshot.PoolObjectName },
		Create:     func(name string) (io.WriteCloser, error) { return b.create(ctx, name) },
	})
	if err := w.Write(cfg); err != nil {
		return nil, err
	}
	return w.Close()
}

// create opens data/<id>/<name> for streaming: bytes flow through a pipe
// into the store's create-once Put, so no object is ever held in memory and
// a failed stream never becomes a visible object.
func (b *run) create(ctx context.Context, name string) (io.WriteCloser, error) {
	key := snapshot.DataKey(b.id, name)
	pr, pw := io.Pipe()
	// A cancelled backup aborts the stream, so Put fails instead of storing
	// a truncated object.
	stop := context.AfterFunc(ctx, func() { _ = pr.CloseWithError(ctx.Err()) })
	done := make(chan error, 1)
	go func() {
		defer stop()
		err := b.store.Put(ctx, key, pr)
		if err != nil {
			err = fmt.Errorf("store %s: %w", key, err)
		}
		_ = pr.CloseWithError(err) // unblock the writer if Put gave up early
		done <- err
	}()
	b.mu.Lock()
	b.written = append(b.written, key)
	b.mu.Unlock()
	return &pipeObject{pw: pw, done: done}, nil
}

type pipeObject struct {
	pw   *io.PipeWriter
	done chan error
}

func (p *pipeObject) Write(b []byte) (int, error) { return p.pw.Write(b) }

// Close ends the stream and waits for the store to finish the object.
func (p *pipeObject) Close() error {
	_ = p.pw.Close()
	return <-p.done
}

// Abort fails the stream so the store discards it, and waits for that.
func (p *pipeObject) Abort(err error) {
	_ = p.pw.CloseWithError(err)
	<-p.done
}

// cleanup removes the data objects of a backup that will never get its
// manifest; they are invisible to readers anyway (no manifest names them),
// so failing here only leaves work for prune.
func (b *run) cleanup() {
	d, ok := b.store.(Deleter)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.mu.Lock()
	keys := append([]string(nil), b.written...)
	tried := b.manifestTried
	b.mu.Unlock()
	if tried {
		// The manifest write failed and settleManifest could not read it
		// back, yet it may be stored (its answer lost, or still landing), and
		// may be another attempt's of the same step that answered done:
		// delete nothing, neither it nor the chunks it may name. Prune
		// removes the data of an id that ends without a manifest.
		return
	}
	for _, k := range keys {
		_ = d.Delete(ctx, k)
	}
}

// redactClient encodes an app client without its secret: the snapshot
// records only that one exists, because a stolen repository must not yield
// credentials.
func redactClient(c *types.UserPoolClientType, keep bool) (json.RawMessage, error) {
	m, err := toMap(c)
	if err != nil {
		return nil, fmt.Errorf("encode app client: %w", err)
	}
	if keep {
		return json.Marshal(m)
	}
	// A client without a secret marshals as "ClientSecret": null.
	if v, ok := m["ClientSecret"]; ok {
		delete(m, "ClientSecret")
		if v != nil {
			m["ClientSecretPresent"] = true
		}
	}
	return json.Marshal(m)
}

// secretDetails are ProviderDetails keys that hold credentials.
var secretDetails = []string{"client_secret", "private_key"}

// redactProvider encodes an identity provider without its secrets.
func redactProvider(p *types.IdentityProviderType, keep bool) (json.RawMessage, error) {
	m, err := toMap(p)
	if err != nil {
		return nil, fmt.Errorf("encode identity provider: %w", err)
	}
	if keep {
		return json.Marshal(m)
	}
	if d, ok := m["ProviderDetails"].(map[string]any); ok {
		for _, k := range secretDetails {
			if _, ok := d[k]; ok {
				delete(d, k)
				d[k+"_present"] = "true"
			}
		}
	}
	return json.Marshal(m)
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
