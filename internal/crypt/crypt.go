// Package crypt encrypts repository objects on the client with age
// (https://age-encryption.org): a Store wrapper that encrypts what it puts
// under the prefixes holding user data (snapshot data and journal events)
// to the repository's recipients, and decrypts what it gets with the
// caller's identities. Writing needs only the public recipients, so a
// backup job or the Lambda can write a repository it cannot read.
//
// age authenticates every 64 KiB chunk of ciphertext, so a stored byte that
// changed fails the read; the manifest's checksums are then over the
// compressed and decompressed plaintext inside the envelope.
//
// It wraps storage.Store; it must not import snapshot, repo or cli.
package crypt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/storage"
)

// header starts every age file.
const header = "age-encryption.org/v1\n"

// ErrNoIdentity means an encrypted object was read without an identity.
var ErrNoIdentity = errors.New("the repository is encrypted: pass --age-identity FILE (or set COGVAULT_AGE_IDENTITY) to read it")

// Store encrypts objects under Prefixes.
type Store struct {
	inner      storage.Store
	recipients []age.Recipient
	identities []age.Identity
	prefixes   []string
}

// ErrPlaintext means an object the repository encrypts is stored in
// plaintext: whoever wrote it did not need the repository's recipients, so
// it is refused, never read.
var ErrPlaintext = errors.New("is stored in plaintext, but the repository encrypts it with age")

// Wrap returns a Store that encrypts objects whose keys start with one of
// prefixes to recipients, and decrypts with identities (which may be empty:
// then encrypted objects cannot be read). A plaintext object under those
// prefixes is refused (ErrPlaintext): age proves nothing about who wrote a
// file, but anyone can write one without encrypting it.
func Wrap(inner storage.Store, recipients []age.Recipient, identities []age.Identity, prefixes ...string) *Store {
	return &Store{inner: inner, recipients: recipients, identities: identities, prefixes: prefixes}
}

func (s *Store) encrypts(key string) bool {
	for _, p := range s.prefixes {
		if hasPrefix(key, p) {
			return true
		}
	}
	return false
}

// hasPrefix is strings.HasPrefix where a "*" part of prefix stands for one
// whole part of key ("migrations/*/users/" holds every pool's user
// records).
func hasPrefix(key, prefix string) bool {
	for {
		star := strings.Index(prefix, "*/")
		if star < 0 {
			return strings.HasPrefix(key, prefix)
		}
		if !strings.HasPrefix(key, prefix[:star]) {
			return false
		}
		key = key[star:]
		slash := strings.IndexByte(key, '/')
		if slash <= 0 {
			return false
		}
		key, prefix = key[slash+1:], prefix[star+2:]
	}
}

// Put encrypts r as it streams to the inner store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	if !s.encrypts(key) {
		return s.inner.Put(ctx, key, r)
	}
	if len(s.recipients) == 0 {
		return fmt.Errorf("encrypt %s: the repository has no age recipients", key)
	}
	pr, pw := io.Pipe()
	go func() {
		w, err := age.Encrypt(pw, s.recipients...)
		if err == nil {
			_, err = io.Copy(w, r)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	err := s.inner.Put(ctx, key, pr)
	pr.CloseWithError(err) // unblock the encrypter if Put stopped reading
	return err
}

// Get decrypts an encrypted object; a plaintext one under an encrypted
// prefix is refused, naming the object.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.inner.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(rc)
	if peek, _ := br.Peek(len(header)); !bytes.Equal(peek, []byte(header)) {
		if s.encrypts(key) {
			rc.Close()
			return nil, fmt.Errorf("%s %w: refusing it (anyone can write a plaintext object; move it out of the repository)", key, ErrPlaintext)
		}
		return readCloser{br, rc}, nil
	}
	if len(s.identities) == 0 {
		rc.Close()
		return nil, fmt.Errorf("%s: %w", key, ErrNoIdentity)
	}
	r, err := age.Decrypt(br, s.identities...)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("decrypt %s: %w", key, err)
	}
	return readCloser{&errReader{r: r, key: key}, rc}, nil
}

// errReader names the object when the ciphertext fails to authenticate.
type errReader struct {
	r   io.Reader
	key string
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decrypt %s: %w (the stored bytes were changed)", e.key, err)
	}
	return n, err
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat, List and Delete see the stored (encrypted) objects.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	return s.inner.Stat(ctx, key)
}

func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[storage.ObjectInfo, error] {
	return s.inner.List(ctx, prefix)
}

func (s *Store) Delete(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

func (s *Store) String() string { return s.inner.String() }

// Sweep passes through to the inner store when it can sweep.
func (s *Store) Sweep(ctx context.Context, prefix string, before time.Time, dryRun bool) (int, error) {
	if sw, ok := s.inner.(storage.Sweeper); ok {
		return sw.Sweep(ctx, prefix, before, dryRun)
	}
	return 0, nil
}

// ParseRecipients reads age recipients ("age1…"), one per line or
// argument; '#' starts a comment.
func ParseRecipients(lines ...string) ([]age.Recipient, error) {
	rs, err := age.ParseRecipients(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		return nil, fmt.Errorf("age recipients: %w", err)
	}
	return rs, nil
}

// ParseIdentities reads an age identity file ("AGE-SECRET-KEY-1…" lines).
func ParseIdentities(r io.Reader, name string) ([]age.Identity, error) {
	ids, err := age.ParseIdentities(r)
	if err != nil {
		return nil, fmt.Errorf("age identity file %s: %w", name, err)
	}
	return ids, nil
}
