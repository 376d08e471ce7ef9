package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// openRepo opens the existing repository --repo (or COGVAULT_REPO) names.
// AWS configuration is loaded only for s3:// repositories, so local ones
// work with no AWS setup at all.
func (g *globalOptions) openRepo(ctx context.Context, kmsKeyID string) (*repo.Repo, error) {
	return g.open(ctx, storage.Options{KMSKeyID: kmsKeyID, MustExist: true})
}

// createRepo opens the repository for writing, creating a local one if
// need be; an empty repository without config.json is initialised first,
// unencrypted and signed (as 'cogvault init' would), so that a first backup
// is signed without a flag.
func (g *globalOptions) createRepo(ctx context.Context, kmsKeyID string) (*repo.Repo, error) {
	store, err := g.openStore(ctx, storage.Options{KMSKeyID: kmsKeyID})
	if err != nil {
		return nil, err
	}
	ids, err := g.identities()
	if err != nil {
		return nil, err
	}
	if _, err := repo.ReadConfig(ctx, store); errors.Is(err, repo.ErrNoConfig) {
		pub, keyRef, err := g.initialise(ctx, store, repo.Config{Encryption: repo.EncryptionNone}, false)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(g.stderr, "cogvault: initialised %s: unencrypted, signed with key %s (private key: %s)\n", g.Repo, pub, keyRef)
	}
	r, err := g.openTrusted(ctx, store, ids)
	if err != nil {
		return nil, err
	}
	return r, r.CheckWritable(ctx)
}

func (g *globalOptions) open(ctx context.Context, opts storage.Options) (*repo.Repo, error) {
	store, err := g.openStore(ctx, opts)
	if err != nil {
		return nil, err
	}
	ids, err := g.identities()
	if err != nil {
		return nil, err
	}
	return g.openTrusted(ctx, store, ids)
}

// openStore opens the store --repo names, without reading config.json.
func (g *globalOptions) openStore(ctx context.Context, opts storage.Options) (storage.Store, error) {
	if g.Repo == "" {
		return nil, usageError("no repository: pass --repo (a path, file://PATH or s3://BUCKET/PREFIX) or set COGVAULT_REPO")
	}
	if strings.HasPrefix(g.Repo, "s3://") {
		cfg, err := g.otherConfig(ctx)
		if err != nil {
			return nil, err
		}
		opts.AWS = cfg
	}
	store, err := storage.Open(ctx, g.Repo, opts)
	if errors.Is(err, storage.ErrNoRepository) {
		return nil, withCode(ExitUsage, err)
	}
	return store, err
}

// identities reads --age-identity, if given.
func (g *globalOptions) identities() ([]age.Identity, error) {
	if g.AgeIdentity == "" {
		return nil, nil
	}
	f, err := os.Open(g.AgeIdentity)
	if err != nil {
		return nil, usageError("--age-identity: %v", err)
	}
	defer f.Close()
	ids, err := crypt.ParseIdentities(f, g.AgeIdentity)
	if err != nil {
		return nil, usageError("--age-identity: %v", err)
	}
	return ids, nil
}

// awsConfig is the configuration for Cognito clients: --endpoint-url applies.
func (g *globalOptions) awsConfig(ctx context.Context) (aws.Config, error) {
	c, err := g.configs(ctx)
	return c.Cognito, err
}

// otherConfig is the configuration for S3 and CloudWatch Logs clients:
// --endpoint-url is Cognito's alone, as the AWS CLI's flag names the one
// service a command calls; these resolve their own endpoints
// (AWS_ENDPOINT_URL_S3, the profile's services section, AWS_ENDPOINT_URL).
func (g *globalOptions) otherConfig(ctx context.Context) (aws.Config, error) {
	c, err := g.configs(ctx)
	return c.Other, err
}

// configs loads the SDK configuration once per command.
func (g *globalOptions) configs(ctx context.Context) (awsx.Configs, error) {
	if g.cfgs != nil {
		return *g.cfgs, nil
	}
	c, err := awsx.LoadConfigs(ctx, g.awsOptions())
	if err != nil {
		return awsx.Configs{}, err
	}
	g.cfgs = &c
	return c, nil
}
