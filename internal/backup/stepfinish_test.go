package backup_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/storage"
)

// slowPuts holds every PUT once armed, as a slow store near the end of a
// step would.
type slowPuts struct {
	storage.Store
	armed atomic.Bool
	delay time.Duration
}

func (s *slowPuts) Put(ctx context.Context, key string, r io.Reader) error {
	err := s.Store.Put(ctx, key, r)
	if s.armed.Load() {
		time.Sleep(s.delay) // the answer comes late, after the bytes landed
	}
	return err
}

// A step whose invocation deadline passes while it stores what it wrote
// after its cut (closing its chunks, its sub list) still stops cleanly:
// its chunks and progress are kept and the next step goes on, where the
// deadline used to make it fail with "no snapshot was written". The store
// turns slow (400 ms a PUT) once the step stops, so the 300 ms deadline
// passes while it closes; reaching the stop takes two pages of a fake
// without quotas.
func TestStepStoresItsWorkAfterTheDeadline(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 300, 2, awsx.Options{})
	store := &slowPuts{Store: e.store, delay: 400 * time.Millisecond}
	var pages atomic.Int64
	opts := e.stepOptions(backup.Options{Workers: 2}, e.store)
	opts.Stop = func() bool {
		if pages.Add(1) > 2 {
			store.armed.Store(true)
			return true
		}
		return false
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	opts.Cut = deadline.Add(-50 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_, p, err := backup.RunStep(ctx, e.api, store, opts, &backup.Stats{})
	if ctx.Err() == nil {
		t.Skip("the step ended before its deadline: the store was not slow enough to test anything")
	}
	if !errors.Is(err, backup.ErrStopped) || p == nil || len(p.Objects) < 2 {
		t.Fatalf("a step whose deadline passed while it stored its chunks: %v (progress %+v); want a stop that kept its chunks", err, p)
	}
}
