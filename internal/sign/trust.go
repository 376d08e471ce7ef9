package sign

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ConfigDir is cogvault's configuration directory: $XDG_CONFIG_HOME/cogvault,
// else ~/.config/cogvault. getenv is os.Getenv outside tests.
func ConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "cogvault"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no configuration directory: set XDG_CONFIG_HOME or HOME: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "cogvault"), nil
}

// Trusted is what the trust store knows about one repository.
type Trusted struct {
	// ID is the repository id its config.json carries.
	ID string `json:"id"`
	// PublicKey verifies everything the repository holds.
	PublicKey string `json:"publicKey"`
	// SigningKey is where this machine's writer key is (a file path or
	// kms:ARN), when this machine created the repository.
	SigningKey string `json:"signingKey,omitempty"`
}

// TrustStore maps repository URLs to their pinned keys; it is a JSON file,
// mode 0600, that a repository's bucket never sees. One with an empty Path
// lives in memory only (there is no configuration directory).
type TrustStore struct {
	Path  string
	Repos map[string]Trusted `json:"repositories"`
}

// ErrKeyChanged means a repository presents another key than the one the
// trust store recorded.
var ErrKeyChanged = errors.New("the repository's key changed")

// LoadTrust reads the trust store at path; a missing file is empty.
func LoadTrust(path string) (*TrustStore, error) {
	t := &TrustStore{Path: path, Repos: map[string]Trusted{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("trust store %s: %w; fix or remove the file", path, err)
	}
	if t.Repos == nil {
		t.Repos = map[string]Trusted{}
	}
	return t, nil
}

// Lookup returns what the store knows of repository url.
func (t *TrustStore) Lookup(url string) (Trusted, bool) {
	e, ok := t.Repos[url]
	return e, ok
}

// Record pins repository url to e. A repository already pinned to another
// key or id is refused: a change is what an attacker who replaced
// config.json would present.
func (t *TrustStore) Record(url string, e Trusted) error {
	if t.Path == "" { // no configuration directory: pinned for this run only
		t.Repos[url] = e
		return nil
	}
	unlock, err := lockFile(t.Path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	// Another cogvault may have recorded a repository since Load: re-read
	// under the lock so that its entry is neither lost nor overridden.
	fresh, err := LoadTrust(t.Path)
	if err != nil {
		return err
	}
	t.Repos = fresh.Repos
	if old, ok := t.Repos[url]; ok && (old.PublicKey != e.PublicKey || old.ID != e.ID) {
		return fmt.Errorf("%s: %w: the trust store %s pins repository %s to key %s, it now presents repository %s with key %s; if that change is yours, remove its entry from the trust store", url, ErrKeyChanged, t.Path, old.ID, old.PublicKey, e.ID, e.PublicKey)
	}
	if old, ok := t.Repos[url]; ok && e.SigningKey == "" {
		e.SigningKey = old.SigningKey
	}
	t.Repos[url] = e
	return t.save()
}

// lockFile takes an exclusive lock by creating path (O_EXCL), waiting for a
// holder to finish; a lock older than a minute is a crashed holder's.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("trust store lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("trust store: %s is held by another cogvault; remove it if none is running", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// save writes the store atomically, mode 0600.
func (t *TrustStore) save() error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.Path), 0o700); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.Path), ".trust-*")
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("trust store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	if err := os.Rename(tmp.Name(), t.Path); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	return nil
}
