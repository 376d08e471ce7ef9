# cogvault writing to a bucket and KMS key that already exist (managed
# elsewhere, for example by a central backup account's baseline). The module
# creates no bucket, bucket configuration or encryption key; it grants its
# functions access to <bucket>/<repository_prefix>/ (the capture function to
# journal/<pool id>/ only) and to the key. It still creates the signing key.
#
# The bucket should have versioning enabled, and its policy should carry the
# module's DenyConfigDelete and DenyOverwrite statements (see the module's
# README, "Security"). Same-account keys with the default key policy need
# nothing more; a key whose policy does not delegate to IAM, or a bucket
# whose policy denies by default, must allow capture_role_arn and
# worker_role_arn.
#
#   make lambda                       # in the repository root
#   cd deploy/terraform/examples/existing-bucket
#   terraform init
#   terraform apply \
#     -var user_pool_id=eu-west-1_AbCdEf123 \
#     -var bucket=acme-backups-eu-west-1 \
#     -var kms_key=alias/backups

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.21, < 7.0"
    }
  }
}

variable "user_pool_id" {
  description = "Id of the Cognito user pool to protect, such as \"eu-west-1_AbCdEf123\"."
  type        = string
}

variable "bucket" {
  description = "Name of the existing S3 bucket, in the pool's region."
  type        = string
}

variable "kms_key" {
  description = "Existing KMS key: key id, key ARN, alias name (alias/...) or alias ARN."
  type        = string
}

variable "repository_prefix" {
  description = "Key prefix of the repository in the shared bucket."
  type        = string
  default     = "cognito/cogvault"
}

provider "aws" {
  region = split("_", var.user_pool_id)[0]
}

data "aws_s3_bucket" "existing" {
  bucket = var.bucket
}

# Resolves an alias to the key ARN, which is what IAM policies need.
data "aws_kms_key" "existing" {
  key_id = var.kms_key
}

module "cogvault" {
  source = "../.."

  user_pool_id      = var.user_pool_id
  existing_bucket   = data.aws_s3_bucket.existing.id
  kms_key_arn       = data.aws_kms_key.existing.arn
  repository_prefix = var.repository_prefix

  # Nightly at 03:15 UTC; keep two weeks of dailies.
  schedule_expression = "cron(15 3 * * ? *)"
  retention = {
    daily = 14
  }
}

output "function_arn" {
  description = "ARN of the cogvault capture function; set it as the pool's post_confirmation trigger."
  value       = module.cogvault.function_arn
}

output "repository_url" {
  description = "Repository for the cogvault CLI (--repo)."
  value       = module.cogvault.repository_url
}

output "kms_key_arn" {
  description = "KMS key of the repository."
  value       = module.cogvault.kms_key_arn
}

output "capture_role_arn" {
  description = "Execution role of the capture function; allow it in the bucket or key policy if those do not delegate to IAM."
  value       = module.cogvault.capture_role_arn
}

output "worker_role_arn" {
  description = "Execution role of the worker function; allow it in the bucket or key policy if those do not delegate to IAM."
  value       = module.cogvault.worker_role_arn
}

output "repository_public_key" {
  description = "Public key readers pin as COGVAULT_REPO_KEY to verify the repository."
  value       = module.cogvault.repository_public_key
}

output "event_rule_arn" {
  description = "EventBridge rule for Cognito API calls on the pool."
  value       = module.cogvault.event_rule_arn
}

output "schedule_arn" {
  description = "Schedule of the full snapshot."
  value       = module.cogvault.schedule_arn
}
