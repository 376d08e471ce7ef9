package repo_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

func putManifest(t *testing.T, s storage.Store, pool string, at time.Time, seed byte) *snapshot.Manifest {
	t.Helper()
	id, _ := snapshot.NewID(at, rand.NewChaCha8([32]byte{seed}))
	sum := strings.Repeat("0", 64)
	m := &snapshot.Manifest{FormatVersion: 1, ID: id, PoolID: pool, Start: at, End: at.Add(time.Minute), ToolVersion: "t",
		Objects: []snapshot.ObjectInfo{{Name: snapshot.PoolObjectName, Kind: snapshot.KindPool, SHA256: sum, PlainSHA256: sum, Records: 1}}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, snapshot.ManifestKey(id), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResolve(t *testing.T) {
	s, _ := storage.NewDir(t.TempDir())
	r := repo.New(s)
	if _, err := r.Resolve(ctx, "latest", ""); !errors.Is(err, repo.ErrNoSnapshot) {
		t.Fatalf("empty repository: %v", err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a1 := putManifest(t, s, "us-east-1_A", base, 1)
	b1 := putManifest(t, s, "us-east-1_B", base.Add(time.Hour), 2)
	a2 := putManifest(t, s, "us-east-1_A", base.Add(48*time.Hour), 3)

	for _, tc := range []struct{ ref, pool, want string }{
		{"latest", "us-east-1_A", a2.ID},
		{"latest", "us-east-1_B", b1.ID},
		{a1.ID, "", a1.ID},
		{a1.ID, "us-east-1_A", a1.ID},
		{b1.ID, "", b1.ID},
		{a1.ID[:12], "", a1.ID},
		{a1.ID[:12], "us-east-1_A", a1.ID},
		{"2026110", "us-east-1_B", b1.ID},
	} {
		m, err := r.Resolve(ctx, tc.ref, tc.pool)
		if err != nil || m.ID != tc.want {
			t.Errorf("Resolve(%q, %q) = %v, %v; want %s", tc.ref, tc.pool, m, err, tc.want)
		}
	}
	if _, err := r.Resolve(ctx, "2026110", ""); !errors.Is(err, repo.ErrAmbiguousPool) || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	if _, err := r.Resolve(ctx, "2026110", "us-east-1_A"); !errors.Is(err, repo.ErrAmbiguous) || errors.Is(err, repo.ErrAmbiguousPool) || !strings.Contains(err.Error(), "2 snapshots start with it") {
		t.Fatalf("prefix ambiguous within a pool: %v", err)
	}
	if _, err := r.Resolve(ctx, "latest", "us-east-1_C"); !errors.Is(err, repo.ErrNoSnapshot) || !strings.Contains(err.Error(), "cogvault backup --pool us-east-1_C") {
		t.Fatalf("pool without snapshots: %v", err)
	}

	// A full id, or a prefix of one, of another pool than the one asked for.
	for _, ref := range []string{b1.ID, b1.ID[:12]} {
		_, err := r.Resolve(ctx, ref, "us-east-1_A")
		if want := "snapshot " + b1.ID + " is of pool us-east-1_B, not us-east-1_A"; !errors.Is(err, repo.ErrWrongPool) || err.Error() != want {
			t.Errorf("Resolve(%q, us-east-1_A) = %v; want %q", ref, err, want)
		}
	}

	// A damaged manifest is reported, the others still listed.
	if err := s.Put(ctx, "snapshots/20261130T000000.000Z-deadbeef.json", strings.NewReader("{not json")); err != nil {
		t.Fatal(err)
	}
	// A half-written backup (data, no manifest) is not a snapshot.
	if err := s.Put(ctx, "data/20261201T000000.000Z-cafecafe/users-000001.jsonl.zst", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	all, problems, err := r.Snapshots(ctx)
	if err != nil || len(all) != 3 || len(problems) != 1 || !strings.Contains(problems[0].Key, "deadbeef") {
		t.Fatalf("snapshots: %d listed, problems %+v, err %v", len(all), problems, err)
	}
	if all[0].ID != a1.ID || all[2].ID != a2.ID {
		t.Fatalf("not oldest first: %s … %s", all[0].ID, all[2].ID)
	}
}

// TestResolveLatestIsPerPool: "latest" without a pool is refused in a
// repository holding snapshots of several pools, naming them; with one pool
// it needs no --pool.
func TestResolveLatestIsPerPool(t *testing.T) {
	s, _ := storage.NewDir(t.TempDir())
	r := repo.New(s)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a1 := putManifest(t, s, "us-east-1_A", base, 1)
	a2 := putManifest(t, s, "us-east-1_A", base.Add(time.Hour), 2)
	if m, err := r.Resolve(ctx, "latest", ""); err != nil || m.ID != a2.ID {
		t.Fatalf("one pool, latest = %v, %v; want %s", m, err, a2.ID)
	}
	b1 := putManifest(t, s, "eu-west-1_B", base.Add(2*time.Hour), 3)

	_, err := r.Resolve(ctx, "latest", "")
	var amb *repo.AmbiguousPoolError
	if !errors.Is(err, repo.ErrAmbiguousPool) || !errors.As(err, &amb) {
		t.Fatalf("two pools, latest = %v; want ErrAmbiguousPool", err)
	}
	if want := []string{"eu-west-1_B", "us-east-1_A"}; strings.Join(amb.Pools, " ") != strings.Join(want, " ") {
		t.Fatalf("pools %v, want %v", amb.Pools, want)
	}
	for _, want := range []string{"eu-west-1_B", "us-east-1_A", "--pool"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if errors.Is(err, repo.ErrNoSnapshot) {
		t.Errorf("ambiguity is not 'no snapshot': %v", err)
	}
	for pool, want := range map[string]string{"us-east-1_A": a2.ID, "eu-west-1_B": b1.ID} {
		if m, err := r.Resolve(ctx, "latest", pool); err != nil || m.ID != want {
			t.Errorf("latest of %s = %v, %v; want %s", pool, m, err, want)
		}
	}
	for _, m := range []*snapshot.Manifest{a1, b1} {
		if got, err := r.Resolve(ctx, m.ID, ""); err != nil || got.ID != m.ID {
			t.Errorf("full id %s without a pool = %v, %v", m.ID, got, err)
		}
	}

	// A damaged manifest newer than a pool's latest still makes it ambiguous.
	if err := s.Put(ctx, "snapshots/20261130T000000.000Z-deadbeef.json", strings.NewReader("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(ctx, "latest", "us-east-1_A"); !errors.Is(err, repo.ErrAmbiguous) || !strings.Contains(err.Error(), "damaged and newer") {
		t.Fatalf("damaged newer manifest: %v", err)
	}
}
