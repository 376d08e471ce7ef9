# The role a migration function in another account assumes to reach the
# source pool (docs/cognito-facts.md §28). Apply it with a provider for the
# source pool's account and Region; it trusts only the function's role
# (the main module's output migration_role_arn) and grants only the source
# calls of iampolicy's lambda-migration mode on the one pool. No external
# id: it protects a role that a third party assumes for many customers
# (IAM user guide, "Access to AWS accounts owned by third parties"); here
# the trusted principal is one role of the operator's own.

data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  # The code's list (iampolicy.Lambda["migration_source"]); the module's
  # tests check it is the same.
  cognito_actions_migration_source = [
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:AdminListGroupsForUser",
  ]
  source_region   = split("_", var.source_pool_id)[0]
  source_pool_arn = "arn:${data.aws_partition.current.partition}:cognito-idp:${local.source_region}:${data.aws_caller_identity.current.account_id}:userpool/${var.source_pool_id}"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.function_role_arn]
    }
  }
}

resource "aws_iam_role" "source" {
  name                 = var.role_name
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "cogvault migration: read users of Cognito user pool ${var.source_pool_id} for a function in another account"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  # AssumeRole asks for one hour (the function's session length), the
  # default maximum.
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "source" {
  statement {
    sid       = "SourceUserPool"
    actions   = local.cognito_actions_migration_source
    resources = [local.source_pool_arn]
  }
}

resource "aws_iam_role_policy" "source" {
  name   = "cogvault-migration-source"
  role   = aws_iam_role.source.id
  policy = data.aws_iam_policy_document.source.json
}
