# cogvault for one user pool: a new versioned, KMS-encrypted bucket, a KMS
# signing key, the capture function with its EventBridge rule, and the worker
# function with a daily snapshot.
#
#   make lambda                       # in the repository root
#   cd deploy/terraform/examples/basic
#   terraform init
#   terraform apply -var user_pool_id=eu-west-1_AbCdEf123

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

# The pool's region is the first part of its id; cogvault must run there.
provider "aws" {
  region = split("_", var.user_pool_id)[0]
}

module "cogvault" {
  source = "../.."

  user_pool_id = var.user_pool_id
}

# To attach the PostConfirmation trigger, set it on the resource that manages
# the pool (the module already allows Cognito to invoke the function):
#
#   resource "aws_cognito_user_pool" "this" {
#     # ...
#     lambda_config {
#       post_confirmation = module.cogvault.function_arn
#     }
#   }

output "function_arn" {
  description = "ARN of the cogvault capture function (the PostConfirmation trigger)."
  value       = module.cogvault.function_arn
}

output "function_name" {
  description = "Name of the cogvault capture function."
  value       = module.cogvault.function_name
}

output "bucket_name" {
  description = "Bucket holding the repository."
  value       = module.cogvault.bucket_name
}

output "repository_url" {
  description = "Repository for the cogvault CLI (--repo)."
  value       = module.cogvault.repository_url
}

output "kms_key_arn" {
  description = "KMS key of the repository."
  value       = module.cogvault.kms_key_arn
}

output "event_rule_arn" {
  description = "EventBridge rule for Cognito API calls on the pool."
  value       = module.cogvault.event_rule_arn
}

output "schedule_arn" {
  description = "Schedule of the full snapshot."
  value       = module.cogvault.schedule_arn
}

output "repository_public_key" {
  description = "Public key readers pin as COGVAULT_REPO_KEY to verify the repository."
  value       = module.cogvault.repository_public_key
}

output "capture_role_arn" {
  description = "Execution role of the capture function."
  value       = module.cogvault.capture_role_arn
}

output "worker_role_arn" {
  description = "Execution role of the worker function."
  value       = module.cogvault.worker_role_arn
}
