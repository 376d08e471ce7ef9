package cli

import (
	"context"
	"fmt"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
)

// runUpgrade signs an unsigned repository in place. The key and id are
// pinned in the trust store before the first object is signed, so that a
// run that stops half-way resumes with the same ones.
func runUpgrade(ctx context.Context, g *globalOptions, store storage.Store) error {
	ids, err := g.identities()
	if err != nil {
		return err
	}
	p, err := g.pinned()
	if err != nil {
		return err
	}
	e, resumed := p.trust.Lookup(g.repoURL())
	var s sign.Signer
	switch {
	case resumed && e.SigningKey != "":
		s, err = g.loadSigner(ctx, e.SigningKey)
	case resumed:
		return fmt.Errorf("%s: the trust store %s pins this repository to key %s but knows no signing key for it: pass --signing-key", g.repoURL(), p.trust.Path, e.PublicKey)
	default:
		e.ID = repo.NewID()
		s, e.SigningKey, err = g.newRepoSigner(ctx, e.ID)
	}
	if err != nil {
		return err
	}
	e.PublicKey = sign.FormatPublicKey(s.Public())
	res, err := repo.Upgrade(ctx, store, repo.UpgradeOptions{Identities: ids, Signer: s, ID: e.ID,
		BeforeWrite: func() error { return p.trust.Record(g.repoURL(), e) }})
	if err != nil {
		return err
	}
	if g.json() {
		return printJSON(g.stdout, map[string]any{"snapshots": res.Snapshots, "journalEvents": res.Events, "publicKey": e.PublicKey, "signingKey": e.SigningKey})
	}
	fmt.Fprintf(g.stdout, "upgraded %s: %d snapshot(s) checked and signed, %d journal event(s) signed, config.json signed\npublic key: %s\nsigning key: %s\n", g.Repo, res.Snapshots, res.Events, e.PublicKey, e.SigningKey)
	return nil
}
