package cli

import (
	"regexp"

	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/iampolicy"
)

// lambda-worker's age identity: the Secrets Manager secret it reads
// (COGVAULT_AGE_IDENTITY_SECRET_ARN of the function), and the customer
// managed key that secret is encrypted with, if any.

// secretARNRe is a secret's full ARN (Secrets Manager API reference,
// CreateSecret: the name, then a hyphen and six random characters).
var secretARNRe = regexp.MustCompile(`^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)

func addAgeIdentityPolicyFlags(fs *pflag.FlagSet, opts *iamPolicyOptions) {
	fs.StringVar(&opts.AgeIdentitySecret, "age-identity-secret", "", "lambda-worker: `ARN` of the Secrets Manager secret holding its age identity (secretsmanager:GetSecretValue on it)")
	fs.StringVar(&opts.AgeIdentitySecretKey, "age-identity-secret-key", "", "lambda-worker: `ARN` of the customer managed KMS key that secret is encrypted with (kms:Decrypt through Secrets Manager)")
}

func (o iamPolicyOptions) validateAgeIdentity(m iampolicy.Mode) error {
	switch {
	case o.AgeIdentitySecret != "" && !secretARNRe.MatchString(o.AgeIdentitySecret):
		return usageError("--age-identity-secret %q: want the secret's full ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx)", o.AgeIdentitySecret)
	case o.AgeIdentitySecretKey != "" && !kmsKeyRe.MatchString(o.AgeIdentitySecretKey):
		return usageError("--age-identity-secret-key %q: want a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", o.AgeIdentitySecretKey)
	case o.AgeIdentitySecretKey != "" && o.AgeIdentitySecret == "":
		return usageError("--age-identity-secret-key needs --age-identity-secret ARN: the key is granted for that secret only")
	case o.AgeIdentitySecret != "" && !m.AgeIdentity:
		return usageError("--age-identity-secret applies to lambda-worker only (only the worker reads the repository back)")
	}
	return nil
}
