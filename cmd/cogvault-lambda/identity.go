package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"filippo.io/age"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/cogvault/cogvault/internal/repo"
)

// ageIdentityVar names the Secrets Manager secret that holds the worker's
// age identity (issue 14's contract with deploy/terraform): only the worker
// function has it, so only the worker reads an encrypted repository back
// (its checkpoints, chunks and snapshots: stepped snapshots and restores).
// The capture and migration functions write with the public recipients
// alone and never call Secrets Manager.
const ageIdentityVar = "COGVAULT_AGE_IDENTITY_SECRET_ARN"

// secretARNRe is a secret's ARN: arn:PARTITION:secretsmanager:REGION:
// ACCOUNT:secret:NAME-xxxxxx, the name of ASCII letters, digits and
// /_+=.@- (Secrets Manager API reference, CreateSecret, Name and ARN;
// docs/cognito-facts.md §29).
var secretARNRe = regexp.MustCompile(`^arn:[a-z-]+:secretsmanager:([a-z0-9-]+):[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$`)

// secretGetter is the part of the Secrets Manager client the worker uses.
type secretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// ageIdentitySecret is the secret's ARN from the environment, checked, and
// a client in the secret's Region; ok is false when the variable is unset.
func ageIdentitySecret(cfg aws.Config, getenv func(string) string) (arn string, api secretGetter, ok bool, err error) {
	arn = strings.TrimSpace(getenv(ageIdentityVar))
	if arn == "" {
		return "", nil, false, nil
	}
	m := secretARNRe.FindStringSubmatch(arn)
	if m == nil {
		return "", nil, false, fmt.Errorf("%s=%q: want a Secrets Manager secret ARN, arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx", ageIdentityVar, arn)
	}
	// The secret may live in another Region than the function: ask that
	// Region's endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER still wins).
	return arn, secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.Region = m[1] }), true, nil
}

// readAgeIdentities reads the identity file's text from the secret. Its
// errors name the variable and the ARN, never the secret's text; the text
// is kept only in the parsed identities, in memory.
func readAgeIdentities(ctx context.Context, api secretGetter, arn string) ([]age.Identity, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		// The SDK's message carries the service's, which names the caller
		// and the secret but no value.
		return nil, fmt.Errorf("%s (%s): read the worker's age identity: %w (the worker's role needs secretsmanager:GetSecretValue on the secret, and kms:Decrypt on its key when that is a customer managed key)", ageIdentityVar, arn, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("%s (%s): the secret holds a binary value: store the identity file's text (AGE-SECRET-KEY-1… lines, as 'cogvault key generate' writes them) as its secret string", ageIdentityVar, arn)
	}
	text := *out.SecretString
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		// age's error may quote part of a line: not repeated here.
		return nil, fmt.Errorf("%s (%s): the secret is not an age identity file: %s", ageIdentityVar, arn, notIdentityHint(text))
	}
	return ids, nil
}

// notIdentityHint says what the secret seems to hold instead, without
// quoting it.
func notIdentityHint(text string) string {
	const want = "want one or more AGE-SECRET-KEY-1… lines ('#' comments allowed), as 'cogvault key generate' writes them"
	t := strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(t, "{"):
		return want + "; a key/value (JSON) secret is not read: store the file's text as plaintext"
	case strings.Contains(t, "age1") && !strings.Contains(strings.ToUpper(t), "AGE-SECRET-KEY-"):
		return want + "; it seems to hold a recipient (age1…, the public key), not the identity"
	}
	return want
}

// checkIdentities refuses identities that can decrypt nothing the
// repository writes: none of them is one of config.json's recipients. A
// recipient kind whose identity cannot be compared is left to the first
// read, which then fails naming the object. In a repository that is not
// encrypted the identity is not needed: said once, not refused.
func checkIdentities(cfg *repo.Config, ids []age.Identity, arn string, log *slog.Logger) error {
	if len(ids) == 0 {
		return nil
	}
	if cfg == nil || cfg.Encryption != repo.EncryptionAge {
		log.Warn("the repository is not encrypted: the age identity in the secret is not used", "variable", ageIdentityVar, "secret", arn)
		return nil
	}
	var mine []string
	for _, id := range ids {
		switch id := id.(type) {
		case *age.X25519Identity:
			mine = append(mine, id.Recipient().String())
		case *age.HybridIdentity:
			mine = append(mine, id.Recipient().String())
		default:
			return nil // not comparable: the first read decides
		}
	}
	for _, r := range cfg.Recipients {
		if slices.Contains(mine, strings.TrimSpace(r)) {
			return nil
		}
	}
	return fmt.Errorf("%s (%s): %w: it cannot read this repository; store the identity whose public key the repository was initialised with (cogvault init --age-recipient)", ageIdentityVar, arn, errWrongIdentity)
}

var errWrongIdentity = errors.New("the age identity in the secret matches none of the repository's recipients (config.json)")

// workerIdentities reads the age identity when the environment names its
// secret (the worker), else returns none (the capture and migration
// functions: no Secrets Manager call).
func workerIdentities(ctx context.Context, cfg aws.Config, getenv func(string) string) ([]age.Identity, string, error) {
	arn, api, ok, err := ageIdentitySecret(cfg, getenv)
	if err != nil || !ok {
		return nil, "", err
	}
	ids, err := readAgeIdentities(ctx, api, arn)
	return ids, arn, err
}
