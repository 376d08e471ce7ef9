package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// MigrationPrefix holds the records of a running migration (cogvault
// migrate): migrations/<target pool id>/{pending,users,failed}/<name>.json,
// written by the migration function (docs/format.md). They are signed in a
// signed repository. In an encrypted one the users/ records (old and new
// usernames, kept for good) are age-encrypted as journal events are; the
// pending/ records are not, because the function holds no identity yet
// must read them back (each lives from a user's migration to its first
// completed sign-in), and failed/ records name no one.
const MigrationPrefix = "migrations/"

// MigrationUsersPrefix matches every pool's users/ records (crypt.Wrap's
// "*" stands for the pool id).
const MigrationUsersPrefix = MigrationPrefix + "*/users/"

// KindMigration is the signed statement's kind for migration records.
const KindMigration = "migration"

// maxMigrationRecord bounds one record: a few names, subs and group names.
const maxMigrationRecord = 64 << 10

// migrationKey checks a record's pool id and name (parts of letters,
// digits and ._-, as checkpoint names) and returns its key.
func migrationKey(poolID, name string) (string, error) {
	if poolID == "" || strings.Trim(poolID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return "", fmt.Errorf("migration record: pool id %q: want a user pool id, e.g. us-east-1_AbC123", poolID)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.Trim(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			return "", fmt.Errorf("migration record name %q: want parts of letters, digits and ._- separated by /", name)
		}
	}
	return MigrationPrefix + poolID + "/" + name, nil
}

// PutMigrationRecord stores a record once, through the repository's write
// path (signed when the repository is): storage.ErrExist if it is there.
func (r *Repo) PutMigrationRecord(ctx context.Context, poolID, name string, body []byte) error {
	key, err := migrationKey(poolID, name)
	if err != nil {
		return err
	}
	if err := r.Store.Put(ctx, key, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("write migration record %s in %s: %w", key, r.Store, err)
	}
	return nil
}

// GetMigrationRecord reads a record, its signature checked in a signed
// repository; storage.ErrNotExist if it is absent.
func (r *Repo) GetMigrationRecord(ctx context.Context, poolID, name string) ([]byte, error) {
	key, err := migrationKey(poolID, name)
	if err != nil {
		return nil, err
	}
	rc, err := r.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read migration record %s in %s: %w", key, r.Store, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMigrationRecord+1))
	if err != nil {
		return nil, fmt.Errorf("read migration record %s in %s: %w", key, r.Store, err)
	}
	if len(b) > maxMigrationRecord {
		return nil, fmt.Errorf("migration record %s in %s: larger than %d bytes", key, r.Store, maxMigrationRecord)
	}
	return b, nil
}

// DeleteMigrationRecord removes a record; an absent one is not an error.
func (r *Repo) DeleteMigrationRecord(ctx context.Context, poolID, name string) error {
	key, err := migrationKey(poolID, name)
	if err != nil {
		return err
	}
	if err := r.Store.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete migration record %s in %s: %w", key, r.Store, err)
	}
	return nil
}
