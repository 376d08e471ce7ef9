package crypt_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/storage"
)

var ctx = context.Background()

func setup(t *testing.T) (root string, inner storage.Store, w, r *crypt.Store) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	root = t.TempDir()
	inner, _ = storage.NewDir(root)
	w = crypt.Wrap(inner, []age.Recipient{id.Recipient()}, nil, "data/", "journal/")
	r = crypt.Wrap(inner, []age.Recipient{id.Recipient()}, []age.Identity{id}, "data/", "journal/")
	return root, inner, w, r
}

func read(t *testing.T, s storage.Store, key string) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestEncryptsUserDataOnly(t *testing.T) {
	root, _, w, r := setup(t)
	secret := bytes.Repeat([]byte("alice@example.com,"), 10000) // several age chunks
	if err := w.Put(ctx, "data/s1/users-000001.jsonl.zst", bytes.NewReader(secret)); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(ctx, "snapshots/s1.json", strings.NewReader(`{"id":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(root, "data/s1/users-000001.jsonl.zst"))
	if bytes.Contains(raw, []byte("alice@example.com")) || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1\n")) {
		t.Fatalf("data object stored in the clear (%d bytes)", len(raw))
	}
	if raw, _ := os.ReadFile(filepath.Join(root, "snapshots/s1.json")); string(raw) != `{"id":"s1"}` {
		t.Fatalf("manifest was encrypted: %q", raw)
	}
	got, err := read(t, r, "data/s1/users-000001.jsonl.zst")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
	// Writing needs no identity; reading does, and says how to give it.
	if _, err := read(t, w, "data/s1/users-000001.jsonl.zst"); !errors.Is(err, crypt.ErrNoIdentity) || !strings.Contains(err.Error(), "--age-identity") {
		t.Fatalf("read without identity: %v", err)
	}
	// Another key cannot read it.
	other, _ := age.GenerateX25519Identity()
	if _, err := read(t, crypt.Wrap(w, nil, []age.Identity{other}, "data/"), "data/s1/users-000001.jsonl.zst"); err == nil {
		t.Fatal("a foreign identity decrypted the object")
	}
}

func TestTamperedCiphertextFailsNamingTheObject(t *testing.T) {
	root, _, w, r := setup(t)
	if err := w.Put(ctx, "journal/p/e.json", bytes.NewReader(bytes.Repeat([]byte("x"), 200000))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "journal/p/e.json")
	raw, _ := os.ReadFile(path)
	raw[len(raw)-100] ^= 1
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, r, "journal/p/e.json"); err == nil || !strings.Contains(err.Error(), "journal/p/e.json") || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("tampered object read: %v", err)
	}
}

// TestPlaintextObjectsAreRefused: attack 2 of issue 17 put one plaintext
// journal file into an age repository; a plaintext data or journal object
// is refused by name, while plaintext outside the encrypted prefixes
// (manifests) still reads.
func TestPlaintextObjectsAreRefused(t *testing.T) {
	_, inner, _, r := setup(t)
	for _, key := range []string{"data/old/users-000001.jsonl.zst", "journal/p/2026/11/24/1-s-e.json"} {
		if err := inner.Put(ctx, key, strings.NewReader(`{"formatVersion":1}`)); err != nil {
			t.Fatal(err)
		}
		if got, err := read(t, r, key); !errors.Is(err, crypt.ErrPlaintext) || !strings.Contains(err.Error(), key) {
			t.Fatalf("plaintext %s: %q, %v", key, got, err)
		}
	}
	if err := inner.Put(ctx, "snapshots/a.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	if got, err := read(t, r, "snapshots/a.json"); err != nil || string(got) != "{}" {
		t.Fatalf("manifest: %q, %v", got, err)
	}
}

func TestFailedPutStoresNothing(t *testing.T) {
	root, _, w, _ := setup(t)
	err := w.Put(ctx, "data/s/x", io.MultiReader(strings.NewReader("part"), iotestErr{}))
	if err == nil {
		t.Fatal("a failing source was stored")
	}
	if _, err := os.Stat(filepath.Join(root, "data/s/x")); !os.IsNotExist(err) {
		t.Fatalf("half-written object left: %v", err)
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("source failed") }
