package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/storage"
)

// openRepo opens the repository as the Lambda's writer:
// COGVAULT_SIGNING_KEY=kms:KEY_ARN signs with a KMS key (kms:Sign only; the
// private key never leaves KMS), COGVAULT_REPO_KEY pins the repository's
// public key (Terraform sets it from aws_kms_public_key: base64 of the DER
// SubjectPublicKeyInfo). An empty repository without config.json is
// initialised first, signed when there is a signing key, so that the next
// cold start finds it. ids decrypt an encrypted repository (the worker's,
// identity.go; nil elsewhere).
func openRepo(ctx context.Context, cfg aws.Config, store storage.Store, getenv func(string) string, log *slog.Logger, ids []age.Identity) (*repo.Repo, error) {
	var pin ed25519.PublicKey
	if v := strings.TrimSpace(getenv("COGVAULT_REPO_KEY")); v != "" {
		k, err := sign.ParsePublicKey(v)
		if err != nil {
			return nil, fmt.Errorf("COGVAULT_REPO_KEY: %w", err)
		}
		pin = k
	}
	var signer sign.Signer
	if ref := strings.TrimSpace(getenv("COGVAULT_SIGNING_KEY")); ref != "" {
		arn, ok := strings.CutPrefix(ref, "kms:")
		if !ok {
			return nil, fmt.Errorf("COGVAULT_SIGNING_KEY %q: the Lambda signs with KMS only: kms:KEY_ARN of a key with key spec ECC_NIST_EDWARDS25519", ref)
		}
		// With the repository key known, the role needs kms:Sign alone
		// (the Terraform module grants nothing else on the key).
		if pin != nil {
			signer = sign.NewKMSWithKey(kms.NewFromConfig(cfg), arn, pin)
		} else {
			s, err := sign.NewKMS(ctx, kms.NewFromConfig(cfg), arn)
			if err != nil {
				return nil, fmt.Errorf("COGVAULT_SIGNING_KEY: %w", err)
			}
			signer = s
			pin = s.Public()
		}
	}
	if err := initIfEmpty(ctx, store, signer, log); err != nil {
		return nil, err
	}
	opts := repo.OpenOptions{RepoKey: pin, Identities: ids}
	if signer != nil {
		opts.Signer = func(context.Context) (sign.Signer, error) { return signer, nil }
	}
	r, _, err := repo.Open(ctx, store, opts)
	if err != nil {
		return nil, err
	}
	if w := r.Trust.Warning(); w != "" {
		log.Warn(w)
	}
	return r, nil
}

func initIfEmpty(ctx context.Context, store storage.Store, signer sign.Signer, log *slog.Logger) error {
	if _, err := repo.ReadConfig(ctx, store); !errors.Is(err, repo.ErrNoConfig) {
		return nil // initialised, or unreadable: Open says which
	}
	if err := repo.CheckEmpty(ctx, store); err != nil {
		return err
	}
	if signer == nil {
		log.Warn("initialising an unsigned repository: set COGVAULT_SIGNING_KEY=kms:KEY_ARN to sign it")
	}
	err := repo.Init(ctx, store, repo.Config{Encryption: repo.EncryptionNone}, signer)
	if errors.Is(err, repo.ErrInitialised) {
		return nil // another instance got there first
	}
	return err
}
