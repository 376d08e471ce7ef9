package repo_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
)

// TestMigrationRecordsAreSignedAndCreateOnce: a record is written once,
// read back through its signature, and a record put into the bucket
// without the key is refused, not read.
func TestMigrationRecordsAreSignedAndCreateOnce(t *testing.T) {
	dir, raw, _, r := signedRepo(t)
	const pool, name = "us-east-1_T1", "pending/ab12.json"
	if err := r.PutMigrationRecord(ctx, pool, name, []byte(`{"oldSub":"s"}`)); err != nil {
		t.Fatal(err)
	}
	if err := r.PutMigrationRecord(ctx, pool, name, []byte(`{}`)); !errors.Is(err, storage.ErrExist) {
		t.Errorf("second put: %v, want ErrExist", err)
	}
	b, err := r.GetMigrationRecord(ctx, pool, name)
	if err != nil || string(b) != `{"oldSub":"s"}` {
		t.Fatalf("get: %q %v", b, err)
	}
	stored, _ := os.ReadFile(filepath.Join(dir, "migrations", pool, "pending", "ab12.json"))
	if !sign.IsEnvelope(stored) {
		t.Errorf("stored record is not a signed envelope: %.40q", stored)
	}
	if err := raw.Put(ctx, "migrations/"+pool+"/pending/forged.json", strings.NewReader(`{"oldSub":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetMigrationRecord(ctx, pool, "pending/forged.json"); !errors.Is(err, sign.ErrSignature) {
		t.Errorf("unsigned record: %v, want ErrSignature", err)
	}
	if err := r.DeleteMigrationRecord(ctx, pool, name); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetMigrationRecord(ctx, pool, name); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("after delete: %v, want ErrNotExist", err)
	}
	for _, bad := range [][2]string{{"../x", "a.json"}, {pool, "../../config.json"}, {pool, ""}, {"", "a.json"}} {
		if err := r.PutMigrationRecord(ctx, bad[0], bad[1], nil); err == nil {
			t.Errorf("put %q %q: no error", bad[0], bad[1])
		}
	}
}

// TestMigrationRecordsReadBackInAnEncryptedRepository: the function holds
// no age identity, yet reads its pending records back, so they are stored
// signed but not encrypted; its users/ records, which pair old and new
// usernames for good, are encrypted, and readable only with an identity.
func TestMigrationRecordsReadBackInAnEncryptedRepository(t *testing.T) {
	raw, _ := storage.NewDir(t.TempDir())
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Init(ctx, raw, repo.Config{Encryption: repo.EncryptionAge, Recipients: []string{id.Recipient().String()}}, nil); err != nil {
		t.Fatal(err)
	}
	r, _, err := repo.Open(ctx, raw, repo.OpenOptions{}) // no identities, as the Lambda
	if err != nil {
		t.Fatal(err)
	}
	if err := r.PutMigrationRecord(ctx, "us-east-1_T1", "pending/a.json", []byte(`{"oldSub":"s"}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := r.GetMigrationRecord(ctx, "us-east-1_T1", "pending/a.json"); err != nil || string(b) != `{"oldSub":"s"}` {
		t.Errorf("read back without an identity: %q %v", b, err)
	}
	user := `{"oldUsername":"alice@example.com"}`
	if err := r.PutMigrationRecord(ctx, "us-east-1_T1", "users/n.json", []byte(user)); err != nil {
		t.Fatal(err)
	}
	stored, err := raw.Get(ctx, "migrations/us-east-1_T1/users/n.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(stored)
	stored.Close()
	if bytes.Contains(b, []byte("alice")) {
		t.Errorf("a users/ record is stored in plaintext in an encrypted repository")
	}
	if _, err := r.GetMigrationRecord(ctx, "us-east-1_T1", "users/n.json"); err == nil {
		t.Errorf("a users/ record read back without an identity")
	}
	withID, _, err := repo.Open(ctx, raw, repo.OpenOptions{Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := withID.GetMigrationRecord(ctx, "us-east-1_T1", "users/n.json"); err != nil || string(b) != user {
		t.Errorf("users/ record with the identity: %q %v", b, err)
	}
}
