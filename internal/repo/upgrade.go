package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// upgradePrefix holds a signed copy of each object while it is replaced,
// so that a run stopped between deleting the unsigned object and writing
// the signed one loses nothing: the next run puts the copy in place.
const upgradePrefix = "upgrade/"

// UpgradeOptions configures Upgrade.
type UpgradeOptions struct {
	// Identities read an encrypted repository's data, which is checked
	// before anything is signed.
	Identities []age.Identity
	// Signer and ID are the repository's new key and id; a run that
	// resumes must pass the same ones.
	Signer sign.Signer
	ID     string
	// BeforeWrite runs once every check passed, before the first write
	// (the CLI pins the key there, so a failed check pins nothing).
	BeforeWrite func() error
}

// UpgradeResult counts what Upgrade signed.
type UpgradeResult struct {
	Snapshots, Events int
}

// Upgrade signs an unsigned repository in place (config.json, manifests,
// journal events). It first checks every snapshot whole and reads every
// journal event, and writes nothing if any is damaged: signing a damaged or
// forged object would make it trusted. Objects already signed with
// opts.Signer (a resumed run) are kept.
func Upgrade(ctx context.Context, store storage.Store, opts UpgradeOptions) (*UpgradeResult, error) {
	cfg, err := upgradeConfig(ctx, store, opts)
	if err != nil {
		return nil, err
	}
	tolerant := &upgradeStore{Store: store, opts: opts}
	var s storage.Store = tolerant
	if cfg.Encryption == EncryptionAge {
		rs, err := crypt.ParseRecipients(cfg.Recipients...)
		if err != nil {
			return nil, err
		}
		s = crypt.Wrap(s, rs, opts.Identities, snapshot.DataPrefix, snapshot.JournalPrefix)
	}
	keys, res, err := checkAll(ctx, New(s))
	if err != nil {
		return nil, err
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(); err != nil {
			return nil, err
		}
	}
	if err := finishInterrupted(ctx, store); err != nil {
		return nil, err
	}
	for _, key := range keys {
		if err := signInPlace(ctx, store, opts, key); err != nil {
			return nil, err
		}
	}
	if err := writeSignedConfig(ctx, store, *cfg, opts); err != nil {
		return nil, err
	}
	return res, nil
}

// upgradeConfig is the configuration to sign: the unsigned config.json,
// none for a repository made before 'cogvault init', or the signed one a
// previous run wrote (then only objects are left to sign).
func upgradeConfig(ctx context.Context, store storage.Store, opts UpgradeOptions) (*Config, error) {
	raw, err := readRaw(ctx, store, snapshot.ConfigKey)
	if errors.Is(err, ErrNoConfig) {
		return &Config{FormatVersion: 1, Encryption: EncryptionNone}, nil
	}
	if err != nil {
		return nil, err
	}
	if sign.IsEnvelope(raw) {
		body, err := sign.Open(opts.Signer.Public(), opts.ID, KindConfig, snapshot.ConfigKey, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: already signed, by another key or for another repository id: %w", store, err)
		}
		return parseConfig(body, store)
	}
	return parseConfig(raw, store)
}

// upgradeStore reads signed objects of a resumed run and unsigned ones.
type upgradeStore struct {
	storage.Store
	opts UpgradeOptions
}

func (u *upgradeStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	kind := signedKind(key)
	if kind == "" {
		return u.Store.Get(ctx, key)
	}
	raw, err := readAll(ctx, u.Store, key)
	if err != nil {
		return nil, err
	}
	if sign.IsEnvelope(raw) {
		if raw, err = sign.Open(u.opts.Signer.Public(), u.opts.ID, kind, key, raw); err != nil {
			return nil, err
		}
	}
	return io.NopCloser(bytes.NewReader(raw)), nil
}

func readAll(ctx context.Context, store storage.Store, key string) ([]byte, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, maxEnvelope))
}

// checkAll verifies every snapshot and reads every journal event, and
// returns the keys to sign.
func checkAll(ctx context.Context, r *Repo) ([]string, *UpgradeResult, error) {
	res := &UpgradeResult{}
	all, problems, err := r.Snapshots(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("%s: %w; nothing was signed: move damaged manifests out of the repository first", problems[0].Key, problems[0].Err)
	}
	var keys []string
	for _, m := range all {
		v, err := r.Verify(ctx, m)
		if err != nil {
			return nil, nil, fmt.Errorf("check snapshot %s: %w", m.ID, err)
		}
		if !v.OK() {
			return nil, nil, fmt.Errorf("snapshot %s is damaged, nothing was signed: %s", m.ID, strings.Join(v.Problems, "; "))
		}
		keys = append(keys, snapshot.ManifestKey(m.ID))
		res.Snapshots++
	}
	for o, err := range r.Store.List(ctx, snapshot.JournalPrefix) {
		if err != nil {
			return nil, nil, err
		}
		if _, err := r.readEvent(ctx, o.Key); err != nil {
			return nil, nil, fmt.Errorf("%w; nothing was signed", err)
		}
		keys = append(keys, o.Key)
		res.Events++
	}
	return keys, res, nil
}

// signInPlace replaces an unsigned object by its signed envelope, through
// a copy under upgrade/ that finishInterrupted restores from.
func signInPlace(ctx context.Context, store storage.Store, opts UpgradeOptions, key string) error {
	raw, err := readAll(ctx, store, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if sign.IsEnvelope(raw) {
		return nil // signed by a previous run (checked while reading)
	}
	env, err := sign.Seal(ctx, opts.Signer, opts.ID, signedKind(key), key, raw)
	if err != nil {
		return err
	}
	tmp := upgradePrefix + key
	if err := store.Put(ctx, tmp, bytes.NewReader(env)); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := store.Delete(ctx, key); err != nil {
		return fmt.Errorf("replace %s: %w", key, err)
	}
	if err := store.Put(ctx, key, bytes.NewReader(env)); err != nil {
		return fmt.Errorf("replace %s (its signed copy is %s; run 'cogvault init --upgrade' again): %w", key, tmp, err)
	}
	return store.Delete(ctx, tmp)
}

// finishInterrupted puts back what a stopped run had deleted.
func finishInterrupted(ctx context.Context, store storage.Store) error {
	for o, err := range store.List(ctx, upgradePrefix) {
		if err != nil {
			return err
		}
		key := strings.TrimPrefix(o.Key, upgradePrefix)
		if _, err := store.Stat(ctx, key); errors.Is(err, storage.ErrNotExist) {
			rc, err := store.Get(ctx, o.Key)
			if err != nil {
				return err
			}
			err = store.Put(ctx, key, rc)
			rc.Close()
			if err != nil {
				return fmt.Errorf("restore %s from %s: %w", key, o.Key, err)
			}
		}
		if err := store.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// writeSignedConfig replaces config.json (or writes it) last, so that the
// repository reads as signed only once everything in it is.
func writeSignedConfig(ctx context.Context, store storage.Store, cfg Config, opts UpgradeOptions) error {
	raw, err := readRaw(ctx, store, snapshot.ConfigKey)
	exists := err == nil
	if exists && sign.IsEnvelope(raw) {
		return nil
	}
	cfg.ID, cfg.Signing = opts.ID, nil
	var buf memStore
	if err := Init(ctx, &buf, cfg, opts.Signer); err != nil {
		return err
	}
	return signInPlaceBytes(ctx, store, snapshot.ConfigKey, buf.body, exists)
}

func signInPlaceBytes(ctx context.Context, store storage.Store, key string, env []byte, exists bool) error {
	if !exists {
		return store.Put(ctx, key, bytes.NewReader(env))
	}
	tmp := upgradePrefix + key
	if err := store.Put(ctx, tmp, bytes.NewReader(env)); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := store.Delete(ctx, key); err != nil {
		return err
	}
	if err := store.Put(ctx, key, bytes.NewReader(env)); err != nil {
		return err
	}
	return store.Delete(ctx, tmp)
}

// memStore catches the one object Init writes.
type memStore struct {
	storage.Store
	body []byte
}

func (m *memStore) Put(_ context.Context, _ string, r io.Reader) error {
	b, err := io.ReadAll(r)
	m.body = b
	return err
}

func (m *memStore) String() string { return "memory" }
