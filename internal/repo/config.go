package repo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Encryption schemes a repository's config.json may name.
const (
	EncryptionNone = "none"
	EncryptionAge  = "age"
)

// FormatVersion is the repository format this cogvault writes: 2 is a
// signed repository (config.json, manifests and journal events in signed
// envelopes); 1 is an unsigned one. Records inside keep
// snapshot.FormatVersion.
const FormatVersion = sign.EnvelopeVersion

// Config is a repository's config.json: written once by 'cogvault init'.
type Config struct {
	FormatVersion int    `json:"formatVersion"`
	Encryption    string `json:"encryption"`
	// Recipients are the age public keys data and journal objects are
	// encrypted to; any one matching identity reads them.
	Recipients []string `json:"recipients,omitempty"`
	// ID names the repository in every signed statement, so that objects
	// copied from another repository signed by the same key are refused.
	ID string `json:"id,omitempty"`
	// Signing is the repository's public key (readers verify against a key
	// pinned outside the bucket, never this one alone).
	Signing *Signing `json:"signing,omitempty"`
}

// Signing says how a repository is signed.
type Signing struct {
	Algorithm string `json:"algorithm"` // "ed25519"
	PublicKey string `json:"publicKey"` // sign.FormatPublicKey form
}

// Errors Open and Init wrap.
var (
	// ErrInitialised means the repository already has a config.json.
	ErrInitialised = errors.New("the repository is already initialised")
	// ErrNoConfig means a repository holds snapshots or journal events, or
	// is pinned to a key, but has no config.json: never read as unencrypted.
	ErrNoConfig = errors.New("no config.json")
)

// Init writes the repository's configuration: signed by signer, or
// unsigned (format version 1) when signer is nil.
func Init(ctx context.Context, store storage.Store, cfg Config, signer sign.Signer) error {
	cfg.FormatVersion = 1
	if cfg.Encryption == "" {
		cfg.Encryption = EncryptionNone
	}
	if signer != nil {
		cfg.FormatVersion = FormatVersion
		if cfg.ID == "" {
			cfg.ID = NewID()
		}
		cfg.Signing = &Signing{Algorithm: "ed25519", PublicKey: sign.FormatPublicKey(signer.Public())}
	}
	if err := cfg.check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if signer != nil {
		if b, err = sign.Seal(ctx, signer, cfg.ID, KindConfig, snapshot.ConfigKey, b); err != nil {
			return err
		}
	}
	err = store.Put(ctx, snapshot.ConfigKey, bytes.NewReader(b))
	if errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("%s: %w; its configuration cannot change", store, ErrInitialised)
	}
	return err
}

// NewID makes a repository id: 16 random bytes in hex.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (c *Config) check() error {
	if c.FormatVersion > FormatVersion {
		return fmt.Errorf("%s: format version %d is newer than this cogvault understands (%d); upgrade cogvault", snapshot.ConfigKey, c.FormatVersion, FormatVersion)
	}
	switch c.Encryption {
	case EncryptionNone:
		if len(c.Recipients) > 0 {
			return fmt.Errorf("%s: recipients given without encryption", snapshot.ConfigKey)
		}
	case EncryptionAge:
		if _, err := crypt.ParseRecipients(c.Recipients...); err != nil || len(c.Recipients) == 0 {
			return fmt.Errorf("%s: age encryption needs valid recipients: %v", snapshot.ConfigKey, err)
		}
	default:
		return fmt.Errorf("%s: unknown encryption %q (this cogvault knows none and age)", snapshot.ConfigKey, c.Encryption)
	}
	if c.Signing != nil {
		if c.Signing.Algorithm != "ed25519" || c.ID == "" {
			return fmt.Errorf("%s: signing %q with repository id %q: want ed25519 and an id", snapshot.ConfigKey, c.Signing.Algorithm, c.ID)
		}
		if _, err := sign.ParsePublicKey(c.Signing.PublicKey); err != nil {
			return fmt.Errorf("%s: %w", snapshot.ConfigKey, err)
		}
	}
	return nil
}

// ReadConfig reads config.json as stored, without checking a signature:
// for tools that only need to know whether a repository is initialised.
// A repository without one gives ErrNoConfig.
func ReadConfig(ctx context.Context, store storage.Store) (*Config, error) {
	raw, err := readRaw(ctx, store, snapshot.ConfigKey)
	if err != nil {
		return nil, err
	}
	if sign.IsEnvelope(raw) {
		e, err := sign.ParseEnvelope(raw, snapshot.ConfigKey)
		if err != nil {
			return nil, err
		}
		raw = e.Body
	}
	return parseConfig(raw, store)
}

func readRaw(ctx context.Context, store storage.Store, key string) ([]byte, error) {
	rc, err := store.Get(ctx, key)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", store, ErrNoConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", key, store, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", key, store, err)
	}
	return b, nil
}

func parseConfig(b []byte, store storage.Store) (*Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s in %s: %w: %w", snapshot.ConfigKey, store, snapshot.ErrFormat, err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// OpenOptions configures Open.
type OpenOptions struct {
	// Identities decrypt an encrypted repository; without them it can be
	// written and listed, but data cannot be read.
	Identities []age.Identity
	// RepoKey is the repository's public key, pinned outside the bucket
	// (--repo-key, the trust store). Nil: the key config.json names is
	// trusted on first use, and Repo.FirstUse says so.
	RepoKey ed25519.PublicKey
	// RepoID, when set, is the repository id pinned with RepoKey.
	RepoID string
	// Signer finds the writer's key on the first signed write.
	Signer SignerFunc
}

// Open returns the repository in store, reading and checking its
// configuration: a signed repository's objects go through the signature
// check, an encrypted one's through crypt, which refuses plaintext data.
// A repository without config.json opens only while it is empty and not
// pinned; it is then unsigned until 'cogvault init'.
func Open(ctx context.Context, store storage.Store, opts OpenOptions) (*Repo, *Config, error) {
	cfg, trust, err := openConfig(ctx, store, opts)
	if err != nil {
		return nil, nil, err
	}
	var s storage.Store = store
	var signed *signedStore
	if trust.Signed {
		signed = &signedStore{Store: store, repoID: cfg.ID, key: trust.Key, signerFn: opts.Signer}
		s = signed
	}
	if cfg.Encryption == EncryptionAge {
		rs, err := crypt.ParseRecipients(cfg.Recipients...)
		if err != nil {
			return nil, nil, err
		}
		s = crypt.Wrap(s, rs, opts.Identities, snapshot.DataPrefix, snapshot.JournalPrefix, CheckpointPrefix, MigrationUsersPrefix)
	}
	r := New(s)
	r.Config, r.Trust, r.signed = cfg, trust, signed
	return r, cfg, nil
}

// Trust is what Open established about who wrote a repository.
type Trust struct {
	// Signed: every manifest, journal event and config.json is checked.
	Signed bool
	// Key and ID are the repository's key and id (signed repositories).
	Key ed25519.PublicKey
	ID  string
	// FirstUse: Key came from config.json because none was pinned; the
	// caller should pin it (the trust store) and say so.
	FirstUse bool
	// Initialised: the repository has a config.json.
	Initialised bool
}

// Warning says what a reader should tell the user about an unsigned
// repository, or "".
func (t Trust) Warning() string {
	if t.Signed || !t.Initialised {
		return ""
	}
	return "the repository is not signed: anyone who can write to it can change what a restore creates; run 'cogvault init --upgrade' to sign it"
}
