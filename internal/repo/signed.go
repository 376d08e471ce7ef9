package repo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// Kinds of signed objects, as the signed statement names them.
const (
	KindConfig   = "config"
	KindManifest = "manifest"
	KindJournal  = "journal"
)

// maxSigned bounds the body of a signed object (manifests are read with the
// same bound); maxEnvelope its stored form, base64 in JSON.
const (
	maxSigned   = 64 << 20
	maxEnvelope = maxSigned/3*4 + 1<<20
)

// signedKind says which kind of signed object key is, or "" for objects
// the signature does not cover directly (data objects: the signed
// manifest's checksums cover them).
func signedKind(key string) string {
	switch {
	case key == snapshot.ConfigKey:
		return KindConfig
	case strings.HasPrefix(key, snapshot.ManifestPrefix):
		return KindManifest
	case strings.HasPrefix(key, snapshot.JournalPrefix):
		return KindJournal
	case strings.HasPrefix(key, CheckpointPrefix):
		return KindCheckpoint
	case strings.HasPrefix(key, MigrationPrefix):
		return KindMigration
	}
	return ""
}

// SignerFunc finds the writer's key when the first signed object is
// written, so that commands that only read never need it.
type SignerFunc func(ctx context.Context) (sign.Signer, error)

// ErrNoSigningKey means a signed repository was written without its key.
var ErrNoSigningKey = errors.New("the repository is signed and no signing key was given")

// signedStore seals manifests, journal events and config.json in signed
// envelopes on the way in and checks them on the way out. It sits right
// above the real store, so what is signed is the stored bytes (age
// ciphertext for journal events in an encrypted repository).
type signedStore struct {
	storage.Store
	repoID string
	key    ed25519.PublicKey

	once      sync.Once
	signerFn  SignerFunc
	signer    sign.Signer
	signerErr error
}

func (s *signedStore) getSigner(ctx context.Context) (sign.Signer, error) {
	s.once.Do(func() {
		if s.signerFn == nil {
			s.signerErr = fmt.Errorf("%w: pass --signing-key FILE|kms:ARN or set COGVAULT_SIGNING_KEY", ErrNoSigningKey)
			return
		}
		sg, err := s.signerFn(ctx)
		switch {
		case err != nil:
			s.signerErr = err
		case sg == nil:
			s.signerErr = fmt.Errorf("%w: pass --signing-key FILE|kms:ARN or set COGVAULT_SIGNING_KEY", ErrNoSigningKey)
		case !sg.Public().Equal(s.key):
			s.signerErr = fmt.Errorf("signing key %s is not the repository's key %s: its signatures would be refused", sign.FormatPublicKey(sg.Public()), sign.FormatPublicKey(s.key))
		default:
			s.signer = sg
		}
	})
	return s.signer, s.signerErr
}

func (s *signedStore) Put(ctx context.Context, key string, r io.Reader) error {
	kind := signedKind(key)
	if kind == "" {
		return s.Store.Put(ctx, key, r)
	}
	sg, err := s.getSigner(ctx)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	body, err := io.ReadAll(io.LimitReader(r, maxSigned+1))
	if err != nil {
		return err
	}
	if len(body) > maxSigned {
		return fmt.Errorf("write %s: larger than %d bytes", key, maxSigned)
	}
	env, err := sign.Seal(ctx, sg, s.repoID, kind, key, body)
	if err != nil {
		return err
	}
	return s.Store.Put(ctx, key, bytes.NewReader(env))
}

func (s *signedStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	kind := signedKind(key)
	if kind == "" {
		return s.Store.Get(ctx, key)
	}
	rc, err := s.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	stored, err := io.ReadAll(io.LimitReader(rc, maxEnvelope))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	body, err := sign.Open(s.key, s.repoID, kind, key, stored)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(body)), nil
}

// Sweep passes through to the inner store when it can sweep.
func (s *signedStore) Sweep(ctx context.Context, prefix string, before time.Time, dryRun bool) (int, error) {
	if sw, ok := s.Store.(storage.Sweeper); ok {
		return sw.Sweep(ctx, prefix, before, dryRun)
	}
	return 0, nil
}
