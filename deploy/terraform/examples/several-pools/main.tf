# cogvault for several user pools of one region: one instance of the module
# per pool (module for_each), each with its own functions, roles, bucket,
# keys, state machine, dead-letter queue and alarms, all named after the
# pool's key in var.pools. Separate buckets keep each worker's delete rights
# to its own pool's repository.
#
#   make lambda                       # in the repository root
#   cd deploy/terraform/examples/several-pools
#   terraform init
#   terraform apply -var 'pools={prod={user_pool_id="eu-west-1_AbCdEf123"},staff={user_pool_id="eu-west-1_XyZ987654",retention={daily=30}}}'

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
  description = "The pools to protect, by a short name used in every resource name (letters, digits, hyphens; at most 27 characters): user_pool_id, and optionally retention and enable_restore."
  type = map(object({
    user_pool_id = string
    retention = optional(object({
      last    = optional(number, 3)
      daily   = optional(number, 7)
      weekly  = optional(number, 5)
      monthly = optional(number, 12)
    }), {})
    enable_restore = optional(bool, false)
  }))

  validation {
    condition     = alltrue([for k, p in var.pools : can(regex("^[A-Za-z0-9-]{1,27}$", k))])
    error_message = "Each key of pools must be 1 to 27 letters, digits or hyphens: it becomes part of the function name and the bucket name prefix (\"cogvault-<key>-\", at most 37 characters)."
  }
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
  source   = "../.."
  for_each = var.pools

  user_pool_id       = each.value.user_pool_id
  function_name      = "cogvault-${each.key}"
  bucket_name_prefix = "cogvault-${lower(each.key)}-"
  retention          = each.value.retention
  enable_restore     = each.value.enable_restore
  alarm_topic_arn    = var.alarm_topic_arn
}

output "function_arns" {
  description = "Capture function (PostConfirmation trigger) of each pool, by key."
  value       = { for k, m in module.cogvault : k => m.function_arn }
}

output "repository_urls" {
  description = "Repository of each pool, by key, for the cogvault CLI (--repo)."
  value       = { for k, m in module.cogvault : k => m.repository_url }
}

output "state_machine_arns" {
  description = "State machine of each pool, by key: start restores there."
  value       = { for k, m in module.cogvault : k => m.state_machine_arn }
}

output "capture_failures_queue_urls" {
  description = "Dead-letter queue of each pool, by key: cogvault journal replay --queue."
  value       = { for k, m in module.cogvault : k => m.capture_failures_queue_url }
}
