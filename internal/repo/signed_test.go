package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

func signedRepo(t *testing.T) (string, storage.Store, *sign.FileSigner, *repo.Repo) {
	t.Helper()
	dir := t.TempDir()
	raw, _ := storage.NewDir(dir)
	key, err := sign.GenerateKeyFile(filepath.Join(t.TempDir(), "k.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Init(ctx, raw, repo.Config{}, key); err != nil {
		t.Fatal(err)
	}
	r, _, err := repo.Open(ctx, raw, repo.OpenOptions{RepoKey: key.Public(), Signer: func(context.Context) (sign.Signer, error) { return key, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return dir, raw, key, r
}

// TestRenamedManifestIsRefused: a legitimate old manifest copied to a
// newer snapshot's name (rollback) fails, because the statement binds the
// object's key.
func TestRenamedManifestIsRefused(t *testing.T) {
	dir, raw, _, r := signedRepo(t)
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	old := putManifest(t, r.Store, "us-east-1_A", base, 1)
	if m, err := r.Resolve(ctx, "latest", ""); err != nil || m.ID != old.ID {
		t.Fatalf("latest: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(snapshot.ManifestKey(old.ID))))
	newer := strings.Replace(old.ID, "20261101", "20261201", 1)
	if err := raw.Put(ctx, snapshot.ManifestKey(newer), strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
	_, err := r.Resolve(ctx, "latest", "")
	if !errors.Is(err, sign.ErrSignature) || !strings.Contains(err.Error(), snapshot.ManifestKey(newer)) {
		t.Fatalf("a renamed manifest: %v", err)
	}
	if _, _, err := r.Snapshots(ctx); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("listing beside a renamed manifest: %v", err)
	}
}

// TestObjectCopiedFromAnotherRepositoryIsRefused: two repositories signed
// by one key have different ids; a manifest of one fails in the other.
func TestObjectCopiedFromAnotherRepositoryIsRefused(t *testing.T) {
	dirA, _, key, a := signedRepo(t)
	rawB, _ := storage.NewDir(t.TempDir())
	if err := repo.Init(ctx, rawB, repo.Config{}, key); err != nil {
		t.Fatal(err)
	}
	b, _, err := repo.Open(ctx, rawB, repo.OpenOptions{RepoKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}
	m := putManifest(t, a.Store, "us-east-1_A", time.Now(), 1)
	body, _ := os.ReadFile(filepath.Join(dirA, filepath.FromSlash(snapshot.ManifestKey(m.ID))))
	rawB.Put(ctx, snapshot.ManifestKey(m.ID), strings.NewReader(string(body)))
	if _, err := b.Manifest(ctx, m.ID); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("a manifest copied from another repository: %v", err)
	}
}

func TestOpenRefusesWhatThePinForbids(t *testing.T) {
	dir, raw, key, _ := signedRepo(t)
	other, _ := sign.GenerateKeyFile(filepath.Join(t.TempDir(), "o.key"))
	if _, _, err := repo.Open(ctx, raw, repo.OpenOptions{RepoKey: other.Public()}); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("pinned to another key: %v", err)
	}
	r, _, err := repo.Open(ctx, raw, repo.OpenOptions{})
	if err != nil || !r.Trust.FirstUse || !r.Trust.Key.Equal(key.Public()) {
		t.Fatalf("first use: %v %+v", err, r)
	}
	// A writer whose key is not the repository's is refused before writing.
	w, _, _ := repo.Open(ctx, raw, repo.OpenOptions{RepoKey: key.Public(), Signer: func(context.Context) (sign.Signer, error) { return other, nil }})
	if err := w.CheckWritable(ctx); err == nil || !strings.Contains(err.Error(), "not the repository's key") {
		t.Fatalf("a writer with another key: %v", err)
	}
	nokey, _, _ := repo.Open(ctx, raw, repo.OpenOptions{RepoKey: key.Public()})
	if err := nokey.CheckWritable(ctx); !errors.Is(err, repo.ErrNoSigningKey) {
		t.Fatalf("a writer without a key: %v", err)
	}
	os.Remove(filepath.Join(dir, "config.json"))
	if _, _, err := repo.Open(ctx, raw, repo.OpenOptions{RepoKey: key.Public()}); !errors.Is(err, repo.ErrNoConfig) {
		t.Fatalf("pinned, config.json removed: %v", err)
	}
	raw.Put(ctx, "config.json", strings.NewReader(`{"formatVersion":1,"encryption":"none"}`))
	if _, _, err := repo.Open(ctx, raw, repo.OpenOptions{RepoKey: key.Public()}); !errors.Is(err, sign.ErrSignature) {
		t.Fatalf("pinned, config.json replaced by an unsigned one: %v", err)
	}
}

// TestNoConfigIsOnlyForEmptyRepositories: a repository holding snapshots
// but no config.json is never read as unencrypted.
func TestNoConfigIsOnlyForEmptyRepositories(t *testing.T) {
	raw, _ := storage.NewDir(t.TempDir())
	if r, _, err := repo.Open(ctx, raw, repo.OpenOptions{}); err != nil || r.Trust.Initialised {
		t.Fatalf("empty: %v", err)
	}
	putManifest(t, raw, "us-east-1_A", time.Now(), 1)
	if _, _, err := repo.Open(ctx, raw, repo.OpenOptions{}); !errors.Is(err, repo.ErrNoConfig) || !strings.Contains(err.Error(), "snapshots/") {
		t.Fatalf("snapshots without config.json: %v", err)
	}
}
