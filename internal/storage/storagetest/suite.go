// Package storagetest is the conformance suite every storage.Store must
// pass, in the manner of restic's backend tests and go-cloud's drivertest:
// a store is done when Run passes against it.
package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/cogvault/cogvault/internal/storage"
)

// Options tune the suite to a store.
type Options struct {
	// LargeSize is the size of the large-object case; for S3 make it span
	// several parts (default 20 MiB).
	LargeSize int
}

// Run runs the suite; newStore returns an empty store each time.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store, opts Options) {
	if opts.LargeSize == 0 {
		opts.LargeSize = 20 << 20
	}
	ctx := context.Background()
	t.Run("PutGetStat", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "a/b/c.txt", "hello")
		if got := get(t, s, "a/b/c.txt"); got != "hello" {
			t.Fatalf("got %q", got)
		}
		info, err := s.Stat(ctx, "a/b/c.txt")
		if err != nil || info.Size != 5 || info.Key != "a/b/c.txt" {
			t.Fatalf("stat: %+v %v", info, err)
		}
		put(t, s, "empty", "")
		if got := get(t, s, "empty"); got != "" {
			t.Fatalf("empty object read back as %q", got)
		}
	})
	t.Run("CreateOnce", func(t *testing.T) {
		s := newStore(t)
		put(t, s, "k", "first")
		err := s.Put(ctx, "k", strings.NewReader("second"))
		if !errors.Is(err, storage.ErrExist) {
			t.Fatalf("second put: %v, want ErrExist", err)
		}
		if !strings.Contains(err.Error(), "k") {
			t.Fatalf("error %q does not name the key", err)
		}
		if got := get(t, s, "k"); got != "first" {
			t.Fatalf("first content replaced: %q", got)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "nope/x"); !errors.Is(err, storage.ErrNotExist) || !strings.Contains(err.Error(), "nope/x") {
			t.Fatalf("get missing: %v", err)
		}
		if _, err := s.Stat(ctx, "nope/x"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("stat missing: %v", err)
		}
		if err := s.Delete(ctx, "nope/x"); err != nil {
			t.Fatalf("delete missing: %v", err)
		}
	})
	t.Run("ListOrderAndPrefix", func(t *testing.T) {
		s := newStore(t)
		keys := []string{"data/1/users-000002.jsonl.zst", "data/1/users-000001.jsonl.zst", "data/1-x", "data/10/a", "snapshots/1.json", "config.json", "data/2/b"}
		for _, k := range keys {
			put(t, s, k, k)
		}
		if got, want := list(t, s, ""), []string{"config.json", "data/1-x", "data/1/users-000001.jsonl.zst", "data/1/users-000002.jsonl.zst", "data/10/a", "data/2/b", "snapshots/1.json"}; !equal(got, want) {
			t.Fatalf("list all:\n got %q\nwant %q", got, want)
		}
		if got, want := list(t, s, "data/1/"), []string{"data/1/users-000001.jsonl.zst", "data/1/users-000002.jsonl.zst"}; !equal(got, want) {
			t.Fatalf("list data/1/: %q", got)
		}
		if got, want := list(t, s, "data/1"), []string{"data/1-x", "data/1/users-000001.jsonl.zst", "data/1/users-000002.jsonl.zst", "data/10/a"}; !equal(got, want) {
			t.Fatalf("list data/1: %q", got)
		}
		if got := list(t, s, "zzz"); len(got) != 0 {
			t.Fatalf("list of absent prefix: %q", got)
		}
		if err := s.Delete(ctx, "data/10/a"); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, "data/10"); len(got) != 0 {
			t.Fatalf("deleted object still listed: %q", got)
		}
		// Stopping early is allowed.
		for range s.List(ctx, "") {
			break
		}
	})
	t.Run("FailedPutLeavesNothing", func(t *testing.T) {
		s := newStore(t)
		r := io.MultiReader(strings.NewReader(strings.Repeat("x", 1000)), errReader{})
		if err := s.Put(ctx, "broken", r); err == nil {
			t.Fatal("put from a failing reader succeeded")
		}
		if _, err := s.Get(ctx, "broken"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("half-written object visible: %v", err)
		}
		if got := list(t, s, ""); len(got) != 0 {
			t.Fatalf("half-written object listed: %q", got)
		}
		put(t, s, "broken", "retry works")
	})
	t.Run("CancelledPutLeavesNothing", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte("partial"))
			cancel()
			_, _ = pw.Write([]byte("more"))
			pw.Close()
		}()
		if err := s.Put(cctx, "cancelled", pr); err == nil {
			t.Fatal("cancelled put succeeded")
		}
		if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, storage.ErrNotExist) {
			t.Fatalf("cancelled put visible: %v", err)
		}
	})
	t.Run("LargeObject", func(t *testing.T) {
		s := newStore(t)
		data := make([]byte, opts.LargeSize+12345)
		_, _ = rand.Read(data)
		if err := s.Put(ctx, "big", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Get(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("large object: %d bytes back, err %v, equal %v", len(got), err, bytes.Equal(got, data))
		}
		if err := s.Put(ctx, "big", bytes.NewReader(data)); !errors.Is(err, storage.ErrExist) {
			t.Fatalf("large object overwritten: %v", err)
		}
	})
	t.Run("ConcurrentPutsOneWins", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, exists := 0, 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.Put(ctx, "race", strings.NewReader(fmt.Sprint("writer ", i)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, storage.ErrExist):
					exists++
				default:
					t.Errorf("put: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || exists != 7 {
			t.Fatalf("%d puts won and %d saw ErrExist, want 1 and 7", wins, exists)
		}
	})
	t.Run("BadKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "/abs", "a/../b", "..", "a//b", "a\\b", "nul\x00", "trailing/"} {
			if err := s.Put(ctx, k, strings.NewReader("x")); err == nil {
				t.Errorf("key %q accepted", k)
			}
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("source failed") }

func put(t *testing.T, s storage.Store, key, v string) {
	t.Helper()
	if err := s.Put(context.Background(), key, strings.NewReader(v)); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func get(t *testing.T, s storage.Store, key string) string {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

func list(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	for o, err := range s.List(context.Background(), prefix) {
		if err != nil {
			t.Fatalf("list %q: %v", prefix, err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
