package iampolicy

import "strings"

// The worker's age identity (docs/cognito-facts.md §29): the worker reads it
// from a Secrets Manager secret at start-up (GetSecretValue; "Required
// permissions: secretsmanager:GetSecretValue", API reference), and, when
// the secret is encrypted with a customer managed key instead of
// aws/secretsmanager, needs kms:Decrypt on that key too. Secrets Manager
// calls KMS on the caller's behalf with the encryption context
// SecretARN = the secret's ARN, so the grant is scoped to calls through
// Secrets Manager for that secret (kms:ViaService and
// kms:EncryptionContext:SecretARN, as AWS's own managed policy
// AWSSecretsManagerClientReadOnlyAccess scopes it).

// addAgeIdentity grants the read of the age identity's secret, and the
// decryption of its key, to a mode that reads one.
func addAgeIdentity(d *Document, m Mode, o Options) {
	if !m.AgeIdentity || o.AgeIdentitySecret == "" {
		return
	}
	d.Statement = append(d.Statement, Statement{Sid: "ReadAgeIdentity", Effect: "Allow",
		Action: []string{"secretsmanager:GetSecretValue"}, Resource: []string{o.AgeIdentitySecret}})
	if o.AgeIdentitySecretKey == "" {
		return
	}
	region, suffix := "*", "amazonaws.com"
	if parts := strings.Split(o.AgeIdentitySecret, ":"); len(parts) > 3 && parts[3] != "" {
		region = parts[3]
	}
	if o.Partition == "aws-cn" {
		suffix = "amazonaws.com.cn" // UNCONFIRMED: the China Regions' endpoint suffix
	}
	d.Statement = append(d.Statement, Statement{Sid: "DecryptAgeIdentity", Effect: "Allow",
		Action: []string{"kms:Decrypt"}, Resource: []string{o.AgeIdentitySecretKey},
		Condition: map[string]map[string][]string{"StringEquals": {
			"kms:ViaService":                  {"secretsmanager." + region + "." + suffix},
			"kms:EncryptionContext:SecretARN": {o.AgeIdentitySecret},
		}}})
}
