package repo_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestCheckpointsAreSigned: a checkpoint written through the repository is
// sealed like a manifest; one put beside it without the key (a forged
// restore state could make a restore skip users) is refused on read.
func TestCheckpointsAreSigned(t *testing.T) {
	dir, raw, _, r := signedRepo(t)
	if err := r.PutCheckpoint(ctx, "restore/p/s/state-000001", strings.NewReader("line\n")); err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(filepath.Join(dir, "checkpoints", "restore", "p", "s", "state-000001"))
	if strings.Contains(string(stored), "line\n") && !strings.Contains(string(stored), "signature") {
		t.Fatalf("stored checkpoint is not an envelope: %q", stored)
	}
	rc, err := r.GetCheckpoint(ctx, "restore/p/s/state-000001")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "line\n" {
		t.Fatalf("read back %q", b)
	}
	if err := raw.Put(ctx, repo.CheckpointPrefix+"restore/p/s/state-000002", strings.NewReader("forged\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCheckpoint(ctx, "restore/p/s/state-000002"); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("an unsigned checkpoint: %v", err)
	}
	names, err := r.Checkpoints(ctx, "restore/p/s/")
	if err != nil || len(names) != 2 || names[0] != "restore/p/s/state-000001" {
		t.Fatalf("checkpoints: %v, %v", names, err)
	}
	if err := r.DeleteCheckpoints(ctx, "restore/p/s/"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetCheckpoint(ctx, "restore/p/s/state-000001"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("after delete: %v", err)
	}
	for _, bad := range []string{"", "../config.json", "a//b", "a/./b", "a b"} {
		if err := r.PutCheckpoint(ctx, bad, strings.NewReader("x")); err == nil {
			t.Errorf("checkpoint name %q accepted", bad)
		}
	}
}
