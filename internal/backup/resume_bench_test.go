package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/storage"
)

// countingStore counts the bytes read from a store, so that a benchmark
// reports what a resumed step reads back.
type countingStore struct {
	storage.Store
	read atomic.Int64

	mu   sync.Mutex
	gets map[string]int // when not nil: the Gets of each key
}

func (s *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gets != nil {
		s.gets[key]++
	}
	s.mu.Unlock()
	return &countingReader{ReadCloser: rc, n: &s.read}, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// BenchmarkResumedStepStartUp measures what a resumed step costs before it
// lists its first page: the tenth step of a 200,000-user backup in steps
// takes up the progress of the nine before it. It reports the bytes the
// step reads from the repository and its time (one step, stopped at once).
//
//	go test -run '^$' -bench ResumedStepStartUp -benchtime 5x ./internal/backup
func BenchmarkResumedStepStartUp(b *testing.B) {
	const users, steps = 200_000, 10
	e := setup(b, cognitotest.Options{NoQuotas: true}, users, 0, awsx.Options{})
	pages := (users/60 + 1) / steps
	saved := e.stepsUntil(b, backup.Options{}, pages, steps-1)
	cs := &countingStore{Store: e.store}
	var read int64
	for b.Loop() {
		p := new(backup.Progress)
		if err := json.Unmarshal(saved, p); err != nil {
			b.Fatal(err)
		}
		cs.read.Store(0)
		opts := e.stepOptions(backup.Options{Stop: func() bool { return true }, Resume: p}, cs)
		_, _, err := backup.RunStep(ctx, e.api, cs, opts, &backup.Stats{})
		if !errors.Is(err, backup.ErrStopped) {
			b.Fatalf("resumed step: %v", err)
		}
		read += cs.read.Load()
	}
	b.ReportMetric(float64(read)/float64(b.N), "bytes-read/step")
}
