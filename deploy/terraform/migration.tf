# Migration mode (issue 15; README "Migrate a pool"; docs/cognito-facts.md
# §22, §28): with var.migration set, a third function from the same package
# serves the target pool's UserMigration and PostAuthentication triggers
# (`cogvault migrate start --function-arn <migration_function_arn>` points
# both at it). Its role gets exactly what iampolicy's lambda-migration mode
# prints (migration_test.go checks): the source actions on the source pool,
# or only sts:AssumeRole on a role in the source account
# (modules/migration-source-role) when the source is in another account;
# AdminAddUserToGroup and AdminGetUser (PostAuthentication checks the
# signed-in user's creation time, docs/cognito-facts.md §34.2) on the
# target pool; the migration records under
# migrations/<target pool>/ in the repository of the pool
# var.migration.repository names (the function is not per pool: it serves
# the target). Nothing here exists while var.migration is null.

locals {
  migration_enabled = var.migration != null

  # The code's lists (iampolicy.Lambda["migration_source"] and
  # ["migration_target"]); terraform_test.go checks they are the same.
  cognito_actions_migration_source = [
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminInitiateAuth",
    "cognito-idp:AdminListGroupsForUser",
  ]
  cognito_actions_migration_target = [
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminGetUser",
  ]

  # Empty strings while migration is null, so that the expressions below
  # stay valid; no resource is created then.
  migration_target_pool_id  = local.migration_enabled ? var.migration.target_pool_id : ""
  migration_source_pool_id  = local.migration_enabled ? var.migration.source_pool_id : ""
  migration_source_client   = local.migration_enabled ? var.migration.source_client_id : ""
  migration_source_region   = local.migration_enabled ? coalesce(var.migration.source_region, split("_", var.migration.source_pool_id)[0]) : ""
  migration_source_role_arn = local.migration_enabled ? (var.migration.source_role_arn == null ? "" : var.migration.source_role_arn) : ""
  migration_legacy_sub      = local.migration_enabled ? (var.migration.legacy_sub_attribute == null ? "" : var.migration.legacy_sub_attribute) : ""
  migration_uses_role       = local.migration_source_role_arn != ""

  # The pool (a key of local.pools) whose repository keeps the migration
  # records and whose config.json the function reads: var.migration's
  # repository, else the only pool. "" when that cannot be told (several
  # pools, none named); aws_iam_role.migration's precondition refuses it.
  migration_repository = !local.migration_enabled ? "" : (
    var.migration.repository != null ? var.migration.repository : (length(local.pools) == 1 ? keys(local.pools)[0] : "")
  )
  migration_repository_ok = contains(keys(local.pools), local.migration_repository)
  # lookup, not an index: with a key no pool has, the precondition's message
  # names the input rather than Terraform's "Invalid index".
  migration_repository_prefix = lookup({ for k, p in local.pools : k => p.repository_prefix }, local.migration_repository, "")
  migration_repository_url    = lookup(local.repository_urls, local.migration_repository, "")
  migration_config_object_arn = lookup(local.config_object_arns, local.migration_repository, "")

  migration_function_name   = "${var.function_name}-migration"
  migration_target_pool_arn = "arn:${local.partition}:cognito-idp:${split("_", local.migration_target_pool_id)[0]}:${local.account}:userpool/${local.migration_target_pool_id}"
  migration_source_pool_arn = "arn:${local.partition}:cognito-idp:${local.migration_source_region}:${local.account}:userpool/${local.migration_source_pool_id}"
  migration_records_arn     = "${local.bucket_arn}/${local.migration_repository_prefix}/migrations/${local.migration_target_pool_id}/*"
}

resource "aws_cloudwatch_log_group" "migration" {
  count = local.migration_enabled ? 1 : 0

  name              = "/aws/lambda/${local.migration_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "migration" {
  count = local.migration_enabled ? 1 : 0

  name                 = local.migration_function_name
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "cogvault migration function (UserMigration, PostAuthentication) of Cognito user pool ${local.migration_target_pool_id}"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = local.migration_repository_ok
      error_message = "migration.repository must name the pool whose repository keeps the migration records: a key of pools (${join(", ", keys(local.pools))}), or \"default\" with user_pool_id. With several pools it has no default."
    }
  }
}

data "aws_iam_policy_document" "migration" {
  count = local.migration_enabled ? 1 : 0

  # The repository key, the signing key and the function's own log group,
  # as for the pools' functions (iam.tf, function_common["migration"]).
  source_policy_documents = [data.aws_iam_policy_document.function_common["migration"].json]

  # A source in the function's account: the source calls on its pool.
  dynamic "statement" {
    for_each = local.migration_uses_role ? [] : [local.migration_source_pool_arn]

    content {
      sid       = "SourceUserPool"
      actions   = local.cognito_actions_migration_source
      resources = [statement.value]
    }
  }

  # A source in another account: its role holds the source actions (a
  # user pool has no resource policy, so no grant here could reach it).
  dynamic "statement" {
    for_each = local.migration_uses_role ? [local.migration_source_role_arn] : []

    content {
      sid       = "AssumeSourceRole"
      actions   = ["sts:AssumeRole"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "UserPool"
    actions   = local.cognito_actions_migration_target
    resources = [local.migration_target_pool_arn]
  }

  statement {
    sid       = "ReadConfig"
    actions   = ["s3:GetObject"]
    resources = [local.migration_config_object_arn]
  }

  # Pending records are read and deleted once the user's groups are added;
  # finished records are written create-once (the bucket policy refuses
  # overwrites).
  statement {
    sid       = "MigrationRecords"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = [local.migration_records_arn]
  }

  # Without s3:ListBucket a missing pending record answers 403, not 404
  # (S3 API reference, GetObject): every sign-in looks one up. Only the
  # target's records may be listed, not the whole repository
  # (docs/cognito-facts.md §35.4).
  statement {
    sid       = "RepositoryList"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.migration_repository_prefix}/migrations/${local.migration_target_pool_id}/*"]
    }
  }
}

resource "aws_iam_role_policy" "migration" {
  count = local.migration_enabled ? 1 : 0

  name   = "cogvault-migration"
  role   = aws_iam_role.migration[0].id
  policy = data.aws_iam_policy_document.migration[0].json
}

resource "aws_lambda_function" "migration" {
  count = local.migration_enabled ? 1 : 0

  function_name    = local.migration_function_name
  description      = "cogvault migration: users of ${local.migration_source_pool_id} into ${local.migration_target_pool_id} with their passwords"
  role             = aws_iam_role.migration[0].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  memory_size      = var.capture_memory_size
  # Cognito waits 5 s for a trigger, then retries (developer guide, Lambda
  # triggers, "Important considerations"): the handler's own budgets (3 s
  # for the source calls, 1.5 s for a cold start) fit within it.
  timeout = 5

  environment {
    variables = {
      COGVAULT_REPO                           = local.migration_repository_url
      COGVAULT_POOL_ID                        = local.migration_target_pool_id
      COGVAULT_KMS_KEY_ID                     = local.use_kms ? local.kms_key_arn : ""
      COGVAULT_SIGNING_KEY                    = "kms:${local.signing_key_arn}"
      COGVAULT_REPO_KEY                       = local.signing_public_key
      COGVAULT_MIGRATION_SOURCE_POOL_ID       = local.migration_source_pool_id
      COGVAULT_MIGRATION_SOURCE_CLIENT_ID     = local.migration_source_client
      COGVAULT_MIGRATION_SOURCE_REGION        = local.migration_source_region
      COGVAULT_MIGRATION_SOURCE_ROLE_ARN      = local.migration_source_role_arn
      COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE = local.migration_legacy_sub
    }
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.migration,
    aws_iam_role_policy.migration,
  ]
}

# Cognito invokes the function for the target pool's triggers (one
# permission serves UserMigration and PostAuthentication alike).
resource "aws_lambda_permission" "migration" {
  count = local.migration_enabled ? 1 : 0

  statement_id   = "AllowCognitoMigrationTriggers"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.migration[0].function_name
  principal      = "cognito-idp.amazonaws.com"
  source_arn     = local.migration_target_pool_arn
  source_account = local.account
}

output "migration_function_arn" {
  description = "ARN of the migration function (null without var.migration): `cogvault migrate start --function-arn` takes it."
  value       = one(aws_lambda_function.migration[*].arn)
}

output "migration_role_arn" {
  description = "ARN of the migration function's role (null without var.migration): the principal the source account's role trusts (modules/migration-source-role, function_role_arn)."
  value       = one(aws_iam_role.migration[*].arn)
}
