variable "source_pool_id" {
  description = "Id of the source user pool, in this provider's account, such as \"eu-west-1_AbCdEf123\"."
  type        = string

  validation {
    condition     = can(regex("^[\\w-]+_[0-9a-zA-Z]+$", var.source_pool_id))
    error_message = "The source_pool_id must look like <region>_<id>, for example \"eu-west-1_AbCdEf123\"."
  }
}

variable "function_role_arn" {
  description = "ARN of the migration function's role in the other account: the cogvault module's output migration_role_arn. Only it may assume this role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]+$", var.function_role_arn))
    error_message = "The function_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "role_name" {
  description = "Name of the role to create; the function's COGVAULT_MIGRATION_SOURCE_ROLE_ARN (the module's migration.source_role_arn) names it."
  type        = string
  default     = "cogvault-migration-source"

  validation {
    condition     = can(regex("^[\\w+=,.@-]{1,64}$", var.role_name))
    error_message = "The role_name must be 1 to 64 letters, digits or +=,.@_- (IAM CreateRole)."
  }
}

variable "role_path" {
  description = "IAM path of the role, such as \"/cogvault/\"."
  type        = string
  default     = "/"
}

variable "permissions_boundary" {
  description = "ARN of an IAM managed policy set as the role's permissions boundary. null sets none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the role."
  type        = map(string)
  default     = {}
}
