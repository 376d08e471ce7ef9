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
		{"latest", "", a2.ID},
		{"latest", "us-east-1_B", b1.ID},
		{a1.ID, "", a1.ID},
		{a1.ID[:12], "", a1.ID},
	} {
		m, err := r.Resolve(ctx, tc.ref, tc.pool)
		if err != nil || m.ID != tc.want {
			t.Errorf("Resolve(%q, %q) = %v, %v; want %s", tc.ref, tc.pool, m, err, tc.want)
		}
	}
	if _, err := r.Resolve(ctx, "2026110", ""); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	if _, err := r.Resolve(ctx, "latest", "us-east-1_C"); !errors.Is(err, repo.ErrNoSnapshot) || !strings.Contains(err.Error(), "cogvault backup --pool us-east-1_C") {
		t.Fatalf("pool without snapshots: %v", err)
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
