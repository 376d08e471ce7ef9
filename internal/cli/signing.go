package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
)

// repoURL is the trust store's name for --repo: local paths absolute, so
// that ./backups and /home/me/backups are one repository.
func (g *globalOptions) repoURL() string {
	u := strings.TrimRight(g.Repo, "/")
	if strings.HasPrefix(u, "s3://") {
		return u
	}
	if abs, err := filepath.Abs(strings.TrimPrefix(u, "file://")); err == nil {
		return "file://" + abs
	}
	return u
}

// trustStore opens $XDG_CONFIG_HOME/cogvault/trust.json (or
// ~/.config/cogvault/trust.json).
func (g *globalOptions) trustStore() (*sign.TrustStore, error) {
	dir, err := sign.ConfigDir(g.getenv)
	if err != nil {
		// Readers with --repo-key need no trust store; first use then
		// pins for this run only, and says so.
		return &sign.TrustStore{Repos: map[string]sign.Trusted{}}, nil
	}
	return sign.LoadTrust(filepath.Join(dir, "trust.json"))
}

// loadSigner reads a signing key reference: kms:KEY_ARN or a key file.
func (g *globalOptions) loadSigner(ctx context.Context, ref string) (sign.Signer, error) {
	if arn, ok := strings.CutPrefix(ref, "kms:"); ok {
		cfg, err := g.otherConfig(ctx)
		if err != nil {
			return nil, err
		}
		return sign.NewKMS(ctx, kms.NewFromConfig(cfg), arn)
	}
	s, err := sign.LoadKeyFile(ref)
	if err != nil {
		return nil, usageError("--signing-key: %v", err)
	}
	return s, nil
}

// pinned is what the flags, the environment and the trust store say about
// the repository's key.
type pinned struct {
	key    ed25519.PublicKey
	id     string
	signer string // signing key reference
	trust  *sign.TrustStore
}

func (g *globalOptions) pinned() (pinned, error) {
	var p pinned
	ts, err := g.trustStore()
	if err != nil {
		return p, err
	}
	p.trust = ts
	if e, ok := ts.Lookup(g.repoURL()); ok {
		if p.key, err = sign.ParsePublicKey(e.PublicKey); err != nil {
			return p, fmt.Errorf("trust store %s, repository %s: %w", ts.Path, g.repoURL(), err)
		}
		p.id, p.signer = e.ID, e.SigningKey
	}
	if g.RepoKey != "" {
		k, err := sign.ParsePublicKey(g.RepoKey)
		if err != nil {
			return p, usageError("--repo-key: %v", err)
		}
		if !k.Equal(p.key) {
			p.id = "" // a key given by hand pins the key, not the id
		}
		p.key = k
	}
	if g.SigningKey != "" {
		p.signer = g.SigningKey
	}
	return p, nil
}

// openTrusted opens the repository with its pinned key, records the key on
// first use and warns about an unsigned repository.
func (g *globalOptions) openTrusted(ctx context.Context, store storage.Store, ids []age.Identity) (*repo.Repo, error) {
	p, err := g.pinned()
	if err != nil {
		return nil, err
	}
	opts := repo.OpenOptions{Identities: ids, RepoKey: p.key, RepoID: p.id}
	if s := g.initSigner; s != nil {
		opts.RepoKey = s.Public()
		opts.Signer = func(context.Context) (sign.Signer, error) { return s, nil }
	} else if p.signer != "" {
		ref := p.signer
		opts.Signer = func(ctx context.Context) (sign.Signer, error) { return g.loadSigner(ctx, ref) }
		if g.SigningKey != "" && p.key == nil {
			// A writer's own key pins the repository it writes.
			s, err := g.loadSigner(ctx, ref)
			if err != nil {
				return nil, err
			}
			opts.RepoKey = s.Public()
			opts.Signer = func(context.Context) (sign.Signer, error) { return s, nil }
		}
	}
	r, _, err := repo.Open(ctx, store, opts)
	if err != nil {
		return nil, err
	}
	if r.Trust.FirstUse {
		key := sign.FormatPublicKey(r.Trust.Key)
		if err := p.trust.Record(g.repoURL(), sign.Trusted{ID: r.Trust.ID, PublicKey: key}); err != nil {
			return nil, err
		}
		where := "recorded in " + p.trust.Path
		if p.trust.Path == "" {
			where = "not recorded: no configuration directory; pass --repo-key"
		}
		fmt.Fprintf(g.stderr, "cogvault: trusting %s's key %s on first use (%s); check it against the key 'cogvault init' printed\n", g.Repo, key, where)
	}
	if w := r.Trust.Warning(); w != "" {
		fmt.Fprintf(g.stderr, "cogvault: warning: %s\n", w)
	}
	return r, nil
}

// initialise writes config.json to an empty repository: signed unless
// noSigning, with --signing-key or a new key under the configuration
// directory, pinned in the trust store. It returns the public key ("" when
// unsigned) and where the signing key is.
func (g *globalOptions) initialise(ctx context.Context, store storage.Store, cfg repo.Config, noSigning bool) (pub, keyRef string, err error) {
	if _, err := repo.ReadConfig(ctx, store); err == nil {
		return "", "", fmt.Errorf("%s: %w; its configuration cannot change", store, repo.ErrInitialised)
	} else if !errors.Is(err, repo.ErrNoConfig) {
		return "", "", err
	}
	if err := repo.CheckEmpty(ctx, store); err != nil {
		return "", "", err
	}
	if noSigning {
		return "", "", repo.Init(ctx, store, cfg, nil)
	}
	p, err := g.pinned()
	if err != nil {
		return "", "", err
	}
	if e, ok := p.trust.Lookup(g.repoURL()); ok {
		return "", "", fmt.Errorf("%s: the trust store %s already pins this repository to key %s; remove its entry first if the old repository is gone for good", g.repoURL(), p.trust.Path, e.PublicKey)
	}
	cfg.ID = repo.NewID()
	s, keyRef, err := g.newRepoSigner(ctx, cfg.ID)
	if err != nil {
		return "", "", err
	}
	if err := repo.Init(ctx, store, cfg, s); err != nil {
		return "", "", err
	}
	g.initSigner = s // the command goes on writing with it, whatever the trust store says
	pub = sign.FormatPublicKey(s.Public())
	return pub, keyRef, p.trust.Record(g.repoURL(), sign.Trusted{ID: cfg.ID, PublicKey: pub, SigningKey: keyRef})
}

// newRepoSigner is --signing-key, or a new key file named after the
// repository id under the configuration directory's keys/.
func (g *globalOptions) newRepoSigner(ctx context.Context, id string) (sign.Signer, string, error) {
	if g.SigningKey != "" {
		s, err := g.loadSigner(ctx, g.SigningKey)
		return s, g.SigningKey, err
	}
	dir, err := sign.ConfigDir(g.getenv)
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "keys", "repo-"+id+".key")
	s, err := sign.GenerateKeyFile(path)
	return s, path, err
}

// demoRepo initialises the demo's repository, signed with a key in keyDir
// (next to the repository, never inside it): the demo never touches the
// user's configuration directory or trust store.
func demoRepo(ctx context.Context, store storage.Store, keyDir string) (*repo.Repo, string, error) {
	path := filepath.Join(keyDir, "demo-signing.key")
	key, err := sign.LoadKeyFile(path) // a demo run again into the same repository
	if err != nil {
		if key, err = sign.GenerateKeyFile(path); err != nil {
			return nil, "", err
		}
	}
	if err := repo.Init(ctx, store, repo.Config{Encryption: repo.EncryptionNone}, key); err != nil && !errors.Is(err, repo.ErrInitialised) {
		return nil, "", err
	}
	r, _, err := repo.Open(ctx, store, repo.OpenOptions{RepoKey: key.Public(),
		Signer: func(context.Context) (sign.Signer, error) { return key, nil }})
	return r, sign.FormatPublicKey(key.Public()), err
}
