# cogvault with migration mode: the pool is backed up as usual, and a
# migration function lets the users of an old pool in another account sign
# in to the new pool with their old passwords (`cogvault migrate start
# --function-arn <migration_function_arn>` attaches it to the new pool).
#
#   make lambda                       # in the repository root
#   cd deploy/terraform/examples/migration
#   terraform init
#   terraform apply -var target_pool_id=eu-west-1_New -var source_pool_id=eu-west-1_Old \
#     -var source_client_id=abc123 -var source_account_id=111122223333 -var source_profile=old

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.21, < 7.0"
    }
  }
}

variable "target_pool_id" {
  description = "Id of the new user pool (this account), such as \"eu-west-1_New\"."
  type        = string
}

variable "source_pool_id" {
  description = "Id of the old user pool (the source account)."
  type        = string
}

variable "source_client_id" {
  description = "App client of the old pool that allows ALLOW_ADMIN_USER_PASSWORD_AUTH."
  type        = string
}

variable "source_account_id" {
  description = "Account of the old pool."
  type        = string
}

variable "source_profile" {
  description = "AWS CLI profile with access to the source account."
  type        = string
}

provider "aws" {
  region = split("_", var.target_pool_id)[0]
}

provider "aws" {
  alias   = "source"
  region  = split("_", var.source_pool_id)[0]
  profile = var.source_profile
}

module "cogvault" {
  source = "../.."

  user_pool_id = var.target_pool_id
  migration = {
    target_pool_id   = var.target_pool_id
    source_pool_id   = var.source_pool_id
    source_client_id = var.source_client_id
    # Built from its name, not from module.source_role.role_arn: the role
    # trusts this module's function role, so a reference would be a cycle.
    source_role_arn      = "arn:aws:iam::${var.source_account_id}:role/cogvault-migration-source"
    legacy_sub_attribute = "custom:legacy_sub"
    # The pool whose repository keeps the migration records: "default" is
    # user_pool_id's (the only pool, so this could be left out); with pools,
    # one of their keys, which is then required.
    repository = "default"
  }
}

module "source_role" {
  source    = "../../modules/migration-source-role"
  providers = { aws = aws.source }

  source_pool_id    = var.source_pool_id
  function_role_arn = module.cogvault.migration_role_arn
  role_name         = "cogvault-migration-source"
}

output "migration_function_arn" {
  description = "Pass to `cogvault migrate start --function-arn`."
  value       = module.cogvault.migration_function_arn
}
