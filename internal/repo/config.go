package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Encryption schemes a repository's config.json may name.
const (
	EncryptionNone = "none"
	EncryptionAge  = "age"
)

// Config is a repository's config.json: written once by 'cogvault init'. A
// repository without one is unencrypted.
type Config struct {
	FormatVersion int    `json:"formatVersion"`
	Encryption    string `json:"encryption"`
	// Recipients are the age public keys data and journal objects are
	// encrypted to; any one matching identity reads them.
	Recipients []string `json:"recipients,omitempty"`
}

// ErrInitialised means the repository already has a config.json.
var ErrInitialised = errors.New("the repository is already initialised")

// Init writes the repository's configuration.
func Init(ctx context.Context, store storage.Store, cfg Config) error {
	cfg.FormatVersion = snapshot.FormatVersion
	if cfg.Encryption == "" {
		cfg.Encryption = EncryptionNone
	}
	if err := cfg.check(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	err = store.Put(ctx, snapshot.ConfigKey, bytes.NewReader(append(b, '\n')))
	if errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("%s: %w; its configuration cannot change", store, ErrInitialised)
	}
	return err
}

func (c *Config) check() error {
	if c.FormatVersion > snapshot.FormatVersion {
		return fmt.Errorf("%s: format version %d is newer than this cogvault understands (%d); upgrade cogvault", snapshot.ConfigKey, c.FormatVersion, snapshot.FormatVersion)
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
	return nil
}

// ReadConfig reads config.json; a repository without one is unencrypted.
func ReadConfig(ctx context.Context, store storage.Store) (*Config, error) {
	rc, err := store.Get(ctx, snapshot.ConfigKey)
	if errors.Is(err, storage.ErrNotExist) {
		return &Config{FormatVersion: snapshot.FormatVersion, Encryption: EncryptionNone}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", snapshot.ConfigKey, store, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", snapshot.ConfigKey, store, err)
	}
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
}

// Open returns the repository in store, reading its configuration: objects
// of an encrypted repository go through crypt.
func Open(ctx context.Context, store storage.Store, opts OpenOptions) (*Repo, *Config, error) {
	cfg, err := ReadConfig(ctx, store)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Encryption == EncryptionAge {
		rs, err := crypt.ParseRecipients(cfg.Recipients...)
		if err != nil {
			return nil, nil, err
		}
		store = crypt.Wrap(store, rs, opts.Identities, snapshot.DataPrefix, snapshot.JournalPrefix)
	}
	return New(store), cfg, nil
}
