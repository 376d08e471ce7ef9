# The repository's signing key. The functions sign what they write with an
# AWS KMS asymmetric key: the private key is created in KMS and never leaves
# it (kms:Sign is the only way to use it), and readers verify against the
# public key, pinned outside the bucket (COGVAULT_REPO_KEY, and the
# repository_public_key output for the CLI). README.md, "Security".
#
# Key spec ECC_NIST_EDWARDS25519 (Ed25519), usage SIGN_VERIFY, signing
# algorithm ED25519_SHA_512 with MessageType RAW: AWS KMS Developer Guide,
# "Key spec reference" (https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html)
# and API Reference, Sign. The AWS provider checks customer_master_key_spec
# against the SDK's KeySpec enum, which has the Ed25519 spec from the AWS
# SDK for Go v2 release of 2025-11-07; versions.tf requires a provider built
# on it.
locals {
  create_signing_key = var.signing_key_arn == null
  signing_key_arn    = local.create_signing_key ? one(aws_kms_key.signing[*].arn) : var.signing_key_arn
  signing_public_key = var.signing_public_key != null ? var.signing_public_key : one(data.aws_kms_public_key.signing[*].public_key)
  # The only algorithm the functions sign with; kms:Sign is granted for it
  # alone (condition key kms:SigningAlgorithm).
  signing_algorithm = "ED25519_SHA_512"
}

resource "aws_kms_key" "signing" {
  count = local.create_signing_key ? 1 : 0

  description              = "cogvault: signs the repositories of ${var.user_pool_id != null ? "Cognito user pool ${var.user_pool_id}" : "the Cognito user pools of ${var.function_name}"}"
  key_usage                = "SIGN_VERIFY"
  customer_master_key_spec = "ECC_NIST_EDWARDS25519"
  deletion_window_in_days  = 30
  tags                     = var.tags

  # No automatic rotation: KMS rotates symmetric encryption keys only. No
  # policy: the default key policy lets IAM policies in this account grant
  # kms:Sign, and iam.tf grants it to the two function roles only.
}

resource "aws_kms_alias" "signing" {
  count = local.create_signing_key ? 1 : 0

  name          = "alias/cogvault-signing-${local.deployment_slug}"
  target_key_id = aws_kms_key.signing[0].key_id
}

# public_key is GetPublicKey's PublicKey (the DER SubjectPublicKeyInfo) in
# standard base64 (the provider's internal/service/kms/public_key_data_source.go),
# the form COGVAULT_REPO_KEY takes. Skipped when signing_public_key is given, for a
# key whose policy does not let Terraform's principal call kms:GetPublicKey.
data "aws_kms_public_key" "signing" {
  count = var.signing_public_key == null ? 1 : 0

  key_id = local.signing_key_arn
}
