# cogvault for several user pools of one region, in one deployment: the
# module's pools input. Each pool gets its own functions, roles, event rule,
# schedules, state machine, dead-letter queue and alarms, named
# cogvault-<key>-…, and its own repository <repository_prefix>/<key> in one
# shared bucket, encrypted with one key and signed with one signing key. Each
# worker may delete only in its own pool's repository.
#
#   make lambda                       # in the repository root
#   cd deploy/terraform/examples/several-pools
#   terraform init
#   terraform apply -var region=eu-west-1 \
#     -var 'pools={prod={user_pool_id="eu-west-1_AbCdEf123",enable_restore=true},staff={user_pool_id="eu-west-1_XyZ987654",retention={daily=30}}}'

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.21, < 7.0"
    }
  }
}

variable "region" {
  description = "Region of every pool in var.pools (the first part of their ids). Pools of another region need a second provider and module block."
  type        = string
}

variable "pools" {
  description = "The pools to protect, by a short key (lowercase letters, digits, hyphens; at most 31 characters with the function_name below): user_pool_id, and optionally retention, schedule_expression, drill_schedule_expression, enable_restore, import_role_arn and app_client_ids."
  type = map(object({
    user_pool_id = string
    retention = optional(object({
      last    = optional(number, 3)
      daily   = optional(number, 7)
      weekly  = optional(number, 5)
      monthly = optional(number, 12)
    }))
    schedule_expression       = optional(string)
    drill_schedule_expression = optional(string)
    enable_restore            = optional(bool)
    import_role_arn           = optional(string)
    app_client_ids            = optional(list(string))
  }))

  validation {
    condition     = alltrue([for p in var.pools : startswith(p.user_pool_id, "${var.region}_")])
    error_message = "Every user_pool_id must be in var.region (its id starts with \"<region>_\")."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic every pool's alarms notify; null for none."
  type        = string
  default     = null
}

provider "aws" {
  region = var.region
}

module "cogvault" {
  source = "../.."

  function_name   = "cogvault-pools"
  pools           = var.pools
  alarm_topic_arn = var.alarm_topic_arn

  # Defaults for every pool that does not set its own.
  schedule_expression = "cron(15 3 * * ? *)"
}

output "pools" {
  description = "Per pool key: its capture function (function_arn, the pool's PostConfirmation trigger), state machine (start restores there), repository (for the cogvault CLI's --repo), dead-letter queue and roles."
  value       = module.cogvault.pools
}

output "bucket_name" {
  description = "The bucket holding every pool's repository."
  value       = module.cogvault.bucket_name
}

output "repository_public_key" {
  description = "Public key readers pin as COGVAULT_REPO_KEY to verify every pool's repository."
  value       = module.cogvault.repository_public_key
}
