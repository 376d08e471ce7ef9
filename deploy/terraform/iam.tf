# Every Cognito action the function calls, one list per purpose. Kept sorted
# and written out literally: deploy/terraform/terraform_test.go checks they
# equal iampolicy.Lambda (internal/iampolicy), and internal/capture's tests check the code calls
# nothing else.
locals {
  cognito_actions_capture = [
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:GetGroup",
    "cognito-idp:ListUsers",
  ]
  cognito_actions_snapshot = [
    "cognito-idp:DescribeIdentityProvider",
    "cognito-idp:DescribeUserPool",
    "cognito-idp:DescribeUserPoolClient",
    "cognito-idp:DescribeUserPoolDomain",
    "cognito-idp:GetUICustomization",
    "cognito-idp:GetUserPoolMfaConfig",
    "cognito-idp:ListGroups",
    "cognito-idp:ListIdentityProviders",
    "cognito-idp:ListResourceServers",
    "cognito-idp:ListUserPoolClients",
    "cognito-idp:ListUsers",
    "cognito-idp:ListUsersInGroup",
  ]
  cognito_actions_restore = [
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminLinkProviderForUser",
    "cognito-idp:AdminSetUserMFAPreference",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:CreateGroup",
    "cognito-idp:CreateUserImportJob",
    "cognito-idp:DescribeUserImportJob",
    "cognito-idp:DescribeUserPool",
    "cognito-idp:GetCSVHeader",
    "cognito-idp:ListGroups",
    "cognito-idp:ListIdentityProviders",
    "cognito-idp:ListUserImportJobs",
    "cognito-idp:ListUsers",
    "cognito-idp:StartUserImportJob",
  ]
  # Actions the Service Authorization Reference ("Actions, resources, and
  # condition keys for Amazon Cognito User Pools") lists with no resource
  # type: IAM grants them only on "*". DescribeUserPoolDomain names a domain,
  # not a pool, so a policy scoped to the pool's ARN refuses it and the
  # snapshot of any pool with a domain would fail. ListUserPools (the drill's
  # sweep) lists the account's pools. Every other action the function calls
  # takes the userpool resource type. terraform_test.go checks
  # this list against iampolicy.ResourceTypes.
  cognito_actions_any_resource = [
    "cognito-idp:DescribeUserPoolDomain",
    "cognito-idp:ListUserPools",
  ]
}

# Restore drills (drill_schedule_expression) create a scratch pool from the
# snapshot, restore into it through the admin API, compare, and delete it
# (internal/drill). Every call but CreateUserPool is on the scratch pool.
locals {
  drill_enabled = { for k, p in local.pools : k => p.drill_schedule_expression != null }
  drill_tag_key = "cogvault:drill" # drill.TagKey (internal/drill), checked by policy_test.go
  cognito_actions_drill_scratch = [
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminLinkProviderForUser",
    "cognito-idp:AdminSetUserMFAPreference",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:CreateGroup",
    "cognito-idp:CreateIdentityProvider",
    "cognito-idp:CreateResourceServer",
    "cognito-idp:CreateUserPoolClient",
    "cognito-idp:DeleteUserPool",
    "cognito-idp:DescribeUserPool",
    "cognito-idp:ListGroups",
    "cognito-idp:ListIdentityProviders",
    "cognito-idp:ListUsers",
    "cognito-idp:ListUsersInGroup",
    "cognito-idp:SetUICustomization",
    "cognito-idp:SetUserPoolMfaConfig",
  ]
  # Before it starts, the drill deletes the scratch pools killed drills left
  # behind (drill.Sweep): it lists the pools, then reads and deletes only
  # those with the drill's name and tag.
  cognito_actions_drill_sweep = [
    "cognito-idp:DeleteUserPool",
    "cognito-idp:DescribeUserPool",
    "cognito-idp:ListUserPools",
  ]
  # On tagged pools (DrillUsesItsScratchPools) and on "*" (DrillListsPools).
  drill_on_pool = sort(distinct(concat(local.cognito_actions_drill_scratch, sort(setsubtract(local.cognito_actions_drill_sweep, local.cognito_actions_any_resource)))))
  drill_on_any  = sort(setintersection(local.cognito_actions_drill_sweep, local.cognito_actions_any_resource))
}

locals {
  # capture: the trigger and change events. worker: the snapshot, and the
  # write actions only when restores are enabled, so a capture-only
  # deployment cannot change users.
  # Per pool (restores are enabled pool by pool).
  cognito_actions_worker = { for k, p in local.pools : k => sort(distinct(concat(
    local.cognito_actions_snapshot,
    p.enable_restore ? local.cognito_actions_restore : [],
  ))) }
  capture_cognito_on_pool = sort(setsubtract(local.cognito_actions_capture, local.cognito_actions_any_resource))
  capture_cognito_on_any  = sort(setintersection(local.cognito_actions_capture, local.cognito_actions_any_resource))
  worker_cognito_on_pool  = { for k, a in local.cognito_actions_worker : k => sort(setsubtract(a, local.cognito_actions_any_resource)) }
  worker_cognito_on_any   = { for k, a in local.cognito_actions_worker : k => sort(setintersection(a, local.cognito_actions_any_resource)) }

  # Where each may write, in its pool's repository: the capture function
  # appends events of its pool under journal/<pool id>/
  # (snapshot.JournalPoolPrefix) and reads the repository's config.json when
  # it starts; the worker owns the repository.
  repository_objects_arns = { for k, p in local.pools : k => "${local.bucket_arn}/${p.repository_prefix}/*" }
  journal_objects_arns    = { for k, p in local.pools : k => "${local.bucket_arn}/${p.repository_prefix}/journal/${p.user_pool_id}/*" }
  config_object_arns      = { for k, p in local.pools : k => "${local.bucket_arn}/${p.repository_prefix}/config.json" }

  # Import jobs are part of restores: without enable_restore the worker
  # cannot start one, so it gets no role to pass either.
  use_import_role = { for k, p in local.pools : k => p.enable_restore && p.import_role_arn != "" }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# What every function needs alike, one instance per pool and function
# ("<pool key>/capture", "<pool key>/worker", and "migration" with
# var.migration: its own log group): the repository's encryption key through
# S3, the signing key, and its logs. Each role's document takes it as a
# source document, so a change here reaches them all.
data "aws_iam_policy_document" "function_common" {
  for_each = merge(
    { for k, g in aws_cloudwatch_log_group.capture : "${k}/capture" => g.arn },
    { for k, g in aws_cloudwatch_log_group.worker : "${k}/worker" => g.arn },
    # count: no instance without var.migration (migration.tf).
    { for g in aws_cloudwatch_log_group.migration : "migration" => g.arn },
  )

  dynamic "statement" {
    for_each = local.use_kms ? [local.kms_key_arn] : []

    content {
      sid       = "RepositoryKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      # Only through S3 (SSE-KMS): the functions never call KMS with this
      # key themselves (AWS KMS developer guide, condition key
      # kms:ViaService, "s3.<region>.amazonaws.com").
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "SignRepository"
    actions   = ["kms:Sign"]
    resources = [local.signing_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:SigningAlgorithm"
      values   = [local.signing_algorithm]
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${each.value}:*"]
  }
}

# The capture function's role: read the pool's users and groups, add journal
# objects, sign them. No delete, no write outside journal/<pool id>/.
# Overwrites of existing journal objects are refused by the bucket policy
# (bucket.tf, DenyOverwrite): IAM has no action for "create only".

resource "aws_iam_role" "capture" {
  for_each = local.pools

  name                 = "${each.value.name}-capture"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "cogvault capture function (trigger, change events) for Cognito user pool ${each.value.user_pool_id}"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  tags                 = var.tags
}

data "aws_iam_policy_document" "capture" {
  for_each = local.pools

  source_policy_documents = [data.aws_iam_policy_document.function_common["${each.key}/capture"].json]

  statement {
    sid       = "UserPool"
    actions   = local.capture_cognito_on_pool
    resources = [local.pool_arns[each.key]]
  }

  # No resource-level permissions for these (see local.cognito_actions_any_resource).
  dynamic "statement" {
    for_each = length(local.capture_cognito_on_any) > 0 ? [local.capture_cognito_on_any] : []

    content {
      sid       = "CognitoAnyResource"
      actions   = statement.value
      resources = ["*"]
    }
  }

  statement {
    sid       = "ReadConfig"
    actions   = ["s3:GetObject"]
    resources = [local.config_object_arns[each.key]]
  }

  # GetObject: after a retried PUT answers 412, the function reads the
  # object back to tell its own lost success from another event's key.
  # Journal objects (at most 1 MiB) are single PUTs, far below the 16 MiB
  # part size: no multipart upload, so no s3:AbortMultipartUpload.
  statement {
    sid       = "AppendJournal"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [local.journal_objects_arns[each.key]]
  }

  # Without s3:ListBucket, S3 answers 403 instead of 404 for a missing key
  # (the S3 API reference, GetObject), and a repository without config.json
  # could not be opened. Listing is read-only.
  statement {
    sid       = "RepositoryList"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${each.value.repository_prefix}/*"]
    }
  }


  # Metrics (CaptureFailures, …) are CloudWatch embedded-metric-format log
  # lines: no cloudwatch:PutMetricData needed.

  # Lambda sends the record of an event that failed every retry to the
  # on-failure destination with the function's execution role (the Lambda
  # developer guide, "Capturing records of Lambda asynchronous
  # invocations"). Send only: reading and deleting is the replay's business.
  statement {
    sid       = "FailedEvents"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.capture_failures[each.key].arn]
  }
}

resource "aws_iam_role_policy" "capture" {
  for_each = local.pools

  name   = "cogvault-capture"
  role   = aws_iam_role.capture[each.key].id
  policy = data.aws_iam_policy_document.capture[each.key].json
}

# The worker's role: snapshots, forget and prune (the only deletes), and
# restores when enabled.

resource "aws_iam_role" "worker" {
  for_each = local.pools

  name                 = "${each.value.name}-worker"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "cogvault worker function (snapshots, restores) for Cognito user pool ${each.value.user_pool_id}"
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume.json
  tags                 = var.tags
}

data "aws_iam_policy_document" "worker" {
  for_each = local.pools

  source_policy_documents = [data.aws_iam_policy_document.function_common["${each.key}/worker"].json]

  statement {
    sid       = "UserPool"
    actions   = local.worker_cognito_on_pool[each.key]
    resources = [local.pool_arns[each.key]]
  }

  # Drills, only when scheduled. Cognito user pools take aws:RequestTag on
  # CreateUserPool (and its dependent TagResource) and aws:ResourceTag on
  # the userpool resource type (API reference, TagResource: "you can
  # constrain permissions for user pools based on specific tags"; developer
  # guide, "Tagging Amazon Cognito resources"). So the role may create only
  # pools carrying the drill's tag, and act only on pools that carry it.
  dynamic "statement" {
    for_each = local.drill_enabled[each.key] ? [1] : []

    content {
      sid       = "DrillCreatesTaggedScratchPools"
      actions   = ["cognito-idp:CreateUserPool", "cognito-idp:TagResource"]
      resources = ["*"]

      condition {
        test     = "Null"
        variable = "aws:RequestTag/${local.drill_tag_key}"
        values   = ["false"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.drill_enabled[each.key] ? [1] : []

    content {
      sid       = "DrillUsesItsScratchPools"
      actions   = local.drill_on_pool
      resources = ["arn:${local.partition}:cognito-idp:${local.region}:${local.account}:userpool/*"]

      condition {
        test     = "Null"
        variable = "aws:ResourceTag/${local.drill_tag_key}"
        values   = ["false"]
      }
    }
  }

  # The sweep's listing: ListUserPools has no resource type (Service
  # Authorization Reference, "Actions, resources, and condition keys for
  # Amazon Cognito User Pools"), so only "*" grants it, and no tag can
  # narrow it. It reveals pool ids and names, no users; reading or deleting
  # any of them still needs the drill's tag (above).
  dynamic "statement" {
    for_each = local.drill_enabled[each.key] ? [1] : []

    content {
      sid       = "DrillListsPools"
      actions   = local.drill_on_any
      resources = ["*"]
    }
  }

  # Tagging any pool is what would let the role reach it through the
  # statement above; the pools this deployment backs up (all of them, not
  # only this worker's) are never tagged nor deleted by the worker, whatever
  # their tags say.
  dynamic "statement" {
    for_each = local.drill_enabled[each.key] ? [1] : []

    content {
      sid       = "DrillNeverTouchesTheBackedUpPool"
      effect    = "Deny"
      actions   = ["cognito-idp:TagResource", "cognito-idp:DeleteUserPool"]
      resources = values(local.pool_arns)
    }
  }

  dynamic "statement" {
    for_each = length(local.worker_cognito_on_any[each.key]) > 0 ? [local.worker_cognito_on_any[each.key]] : []

    content {
      sid       = "CognitoAnyResource"
      actions   = statement.value
      resources = ["*"]
    }
  }

  # DeleteObject for forget and prune. No s3:DeleteObjectVersion: on the
  # versioned bucket a delete leaves the old version for the lifecycle rule
  # (or Object Lock) to deal with.
  statement {
    sid       = "RepositoryObjects"
    actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = [local.repository_objects_arns[each.key]]
  }

  statement {
    sid       = "RepositoryList"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${each.value.repository_prefix}/*"]
    }
  }


  # The age identity of an encrypted repository (restores, drills): the
  # worker reads that one secret (Secrets Manager API reference,
  # GetSecretValue: "Required permissions: secretsmanager:GetSecretValue").
  dynamic "statement" {
    for_each = each.value.age_identity_secret_arn != null ? [each.value.age_identity_secret_arn] : []

    content {
      sid       = "ReadAgeIdentity"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  # A secret under a customer managed key also needs kms:Decrypt on that key
  # (same page); only through Secrets Manager in the secret's Region
  # (kms:ViaService, the form the Secrets Manager user guide's key policies
  # use: secretsmanager.<region>.amazonaws.com), so the role cannot decrypt
  # anything else with the key.
  dynamic "statement" {
    for_each = each.value.age_identity_secret_arn != null && each.value.age_identity_secret_kms_key_arn != null ? [each.value] : []

    content {
      sid       = "DecryptAgeIdentity"
      actions   = ["kms:Decrypt"]
      resources = [statement.value.age_identity_secret_kms_key_arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${split(":", statement.value.age_identity_secret_arn)[3]}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.use_import_role[each.key] ? [each.value.import_role_arn] : []

    content {
      sid       = "PassImportRole"
      actions   = ["iam:PassRole"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["cognito-idp.amazonaws.com"]
      }
    }
  }

  # The import job's log names the lines that failed.
  dynamic "statement" {
    for_each = local.use_import_role[each.key] ? [each.value.user_pool_id] : []

    content {
      sid       = "ReadImportJobLogs"
      actions   = ["logs:GetLogEvents"]
      resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/cognito/userpools/${statement.value}/*"]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  for_each = local.pools

  name   = "cogvault-worker"
  role   = aws_iam_role.worker[each.key].id
  policy = data.aws_iam_policy_document.worker[each.key].json
}

# The role EventBridge Scheduler assumes to start snapshots (and drills).

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  for_each = local.pools

  name                 = "${each.value.name}-scheduler"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "EventBridge Scheduler: starts cogvault snapshots of Cognito user pool ${each.value.user_pool_id}"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume.json
  tags                 = var.tags
}

# The schedules start the state machine (sfn.tf), which invokes the worker:
# the Scheduler's templated target for Step Functions StartExecution (the
# EventBridge Scheduler guide, "Using templated targets").
data "aws_iam_policy_document" "scheduler" {
  for_each = local.pools

  statement {
    sid       = "StartWorkerExecution"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.worker[each.key].arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  for_each = local.pools

  name   = "start-cogvault-worker"
  role   = aws_iam_role.scheduler[each.key].id
  policy = data.aws_iam_policy_document.scheduler[each.key].json
}
