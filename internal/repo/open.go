package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// openConfig reads config.json and decides how far the repository can be
// trusted. Every refusal names config.json and the repository.
func openConfig(ctx context.Context, store storage.Store, opts OpenOptions) (*Config, Trust, error) {
	raw, err := readRaw(ctx, store, snapshot.ConfigKey)
	if errors.Is(err, ErrNoConfig) {
		return noConfig(ctx, store, opts)
	}
	if err != nil {
		return nil, Trust{}, err
	}
	if !sign.IsEnvelope(raw) {
		return unsignedConfig(raw, store, opts)
	}
	e, err := sign.ParseEnvelope(raw, snapshot.ConfigKey)
	if err != nil {
		return nil, Trust{}, fmt.Errorf("%s: %w", store, err)
	}
	t := Trust{Signed: true, Initialised: true, Key: opts.RepoKey, ID: opts.RepoID}
	if t.Key == nil {
		if t.Key, err = sign.ParsePublicKey(e.PublicKey); err != nil {
			return nil, Trust{}, fmt.Errorf("%s in %s: %w: %w", snapshot.ConfigKey, store, sign.ErrSignature, err)
		}
		t.FirstUse = true
	}
	if t.ID == "" {
		t.ID = e.Repository
	}
	body, err := sign.Open(t.Key, t.ID, KindConfig, snapshot.ConfigKey, raw)
	if err != nil {
		return nil, Trust{}, fmt.Errorf("%s: %w", store, err)
	}
	cfg, err := parseConfig(body, store)
	if err != nil {
		return nil, Trust{}, err
	}
	if cfg.ID != t.ID || cfg.Signing == nil || cfg.Signing.PublicKey != sign.FormatPublicKey(t.Key) {
		return nil, Trust{}, fmt.Errorf("%s in %s: %w: its repository id or key differs from the ones it is signed for", snapshot.ConfigKey, store, sign.ErrSignature)
	}
	return cfg, t, nil
}

// unsignedConfig accepts a plain config.json only from a repository that is
// not pinned to a key: a pinned one that presents it was replaced.
func unsignedConfig(raw []byte, store storage.Store, opts OpenOptions) (*Config, Trust, error) {
	if opts.RepoKey != nil {
		return nil, Trust{}, fmt.Errorf("%s in %s: %w: it is not signed, but the repository is pinned to key %s (--repo-key, COGVAULT_REPO_KEY or the trust store): someone without the key replaced it", snapshot.ConfigKey, store, sign.ErrSignature, sign.FormatPublicKey(opts.RepoKey))
	}
	cfg, err := parseConfig(raw, store)
	if err != nil {
		return nil, Trust{}, err
	}
	if cfg.Signing != nil || cfg.FormatVersion >= FormatVersion {
		return nil, Trust{}, fmt.Errorf("%s in %s: %w: it names a signing key but is not signed", snapshot.ConfigKey, store, sign.ErrSignature)
	}
	return cfg, Trust{Initialised: true}, nil
}

// noConfig opens a repository without config.json only when it is empty
// and not pinned: deleting config.json must never make a writer fall back
// to plaintext, nor a reader skip signatures.
func noConfig(ctx context.Context, store storage.Store, opts OpenOptions) (*Config, Trust, error) {
	if opts.RepoKey != nil {
		return nil, Trust{}, fmt.Errorf("%s: %w, but the repository is pinned to key %s (--repo-key, COGVAULT_REPO_KEY or the trust store): someone removed it; put the original back (S3 versioning, a copy) before using the repository", store, ErrNoConfig, sign.FormatPublicKey(opts.RepoKey))
	}
	for _, prefix := range []string{snapshot.ManifestPrefix, snapshot.JournalPrefix} {
		for o, err := range store.List(ctx, prefix) {
			if err != nil {
				// The repository cannot be listed (no such bucket): the
				// command's own listing fails the same way, so nothing
				// is ever read from it as unsigned.
				return &Config{FormatVersion: 1, Encryption: EncryptionNone}, Trust{}, nil
			}
			return nil, Trust{}, fmt.Errorf("%s: %w, though it holds %s: it was made by a cogvault older than 'cogvault init', or someone removed config.json; never read as unencrypted and unsigned. If the repository is yours and unencrypted, 'cogvault init --upgrade' checks and signs it", store, ErrNoConfig, o.Key)
		}
	}
	return &Config{FormatVersion: 1, Encryption: EncryptionNone}, Trust{}, nil
}

// CheckEmpty refuses a repository that holds snapshots or journal events:
// one without config.json gets a configuration only through
// 'cogvault init --upgrade', which checks what it signs.
func CheckEmpty(ctx context.Context, store storage.Store) error {
	for _, prefix := range []string{snapshot.ManifestPrefix, snapshot.JournalPrefix} {
		for o, err := range store.List(ctx, prefix) {
			if err != nil {
				return fmt.Errorf("list %s in %s: %w", prefix, store, err)
			}
			return fmt.Errorf("%s holds %s but %w: run 'cogvault init --upgrade' to check and sign what it holds", store, o.Key, ErrNoConfig)
		}
	}
	return nil
}
