package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CheckpointPrefix holds the progress of work done in steps (a restore's
// state, a snapshot's positions), so that the next step, in a fresh Lambda
// environment or on a laptop, continues it. Checkpoint objects are signed
// in a signed repository (a forged state file could make a restore skip
// users) and encrypted in an encrypted one (they pair usernames with subs).
const CheckpointPrefix = "checkpoints/"

// KindCheckpoint is the signed statement's kind for checkpoint objects.
const KindCheckpoint = "checkpoint"

// checkpointKey checks a checkpoint's name: slash-separated parts of
// letters, digits and ._-, never empty, "." or "..".
func checkpointKey(name string) (string, error) {
	if name == "" || len(name) > 512 {
		return "", fmt.Errorf("checkpoint name %q: empty or too long", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." || strings.Trim(part, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			return "", fmt.Errorf("checkpoint name %q: want parts of letters, digits and ._- separated by /", name)
		}
	}
	return CheckpointPrefix + name, nil
}

// PutCheckpoint stores a checkpoint object through the repository's own
// write path (signed, encrypted as the repository is). Objects are written
// once: ErrExist (storage.ErrExist) if name is taken.
func (r *Repo) PutCheckpoint(ctx context.Context, name string, body io.Reader) error {
	key, err := checkpointKey(name)
	if err != nil {
		return err
	}
	if err := r.Store.Put(ctx, key, body); err != nil {
		return fmt.Errorf("write checkpoint %s in %s: %w", key, r.Store, err)
	}
	return nil
}

// GetCheckpoint opens a checkpoint object; storage.ErrNotExist if absent.
func (r *Repo) GetCheckpoint(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := checkpointKey(name)
	if err != nil {
		return nil, err
	}
	rc, err := r.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s in %s: %w", key, r.Store, err)
	}
	return rc, nil
}

// Checkpoints lists the names of the checkpoint objects under prefix (a
// name prefix such as "restore/pool/snap/"), in key order.
func (r *Repo) Checkpoints(ctx context.Context, prefix string) ([]string, error) {
	var names []string
	for o, err := range r.Store.List(ctx, CheckpointPrefix+prefix) {
		if err != nil {
			return nil, fmt.Errorf("list checkpoints %s%s in %s: %w", CheckpointPrefix, prefix, r.Store, err)
		}
		names = append(names, strings.TrimPrefix(o.Key, CheckpointPrefix))
	}
	return names, nil
}

// DeleteCheckpoints removes the checkpoint objects under prefix.
func (r *Repo) DeleteCheckpoints(ctx context.Context, prefix string) error {
	names, err := r.Checkpoints(ctx, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if err := r.Store.Delete(ctx, CheckpointPrefix+n); err != nil {
			errs = append(errs, fmt.Errorf("delete checkpoint %s%s: %w", CheckpointPrefix, n, err))
		}
	}
	return errors.Join(errs...)
}
