data "aws_partition" "current" {}

data "aws_region" "current" {}

# Checked before anything is created: every deployment protects at least
# one pool, given one way.
data "aws_caller_identity" "current" {
  lifecycle {
    precondition {
      condition     = (var.user_pool_id == null) != (length(var.pools) == 0)
      error_message = "Set exactly one of user_pool_id (one pool) and pools (several pools, by key)."
    }
  }
}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  account   = data.aws_caller_identity.current.account_id

  # Built by `make lambda` in the repository root.
  lambda_zip = coalesce(var.lambda_zip, "${path.module}/../../dist/cogvault-lambda-${var.architecture == "arm64" ? "arm64" : "amd64"}.zip")
}

# The pools this deployment protects, by key: var.pools, or the one pool of
# var.user_pool_id under the key "default" (moved.tf moves the resources of
# deployments made before var.pools there). Per pool: two functions, their
# roles and logs, the event rule, schedules, state machine, dead-letter
# queue and alarms, all named <name>-…, and a repository of its own in the
# shared bucket, so no pool's worker may delete another pool's snapshots.
# Shared: the bucket, its encryption key and the signing key (README.md,
# "Several pools").
locals {
  single_pool_key = "default"

  pools = merge(
    { for k, p in var.pools : k => {
      user_pool_id              = p.user_pool_id
      name                      = "${var.function_name}-${k}"
      repository_prefix         = "${var.repository_prefix}/${k}"
      retention                 = p.retention != null ? p.retention : var.retention
      schedule_expression       = p.schedule_expression != null ? p.schedule_expression : var.schedule_expression
      drill_schedule_expression = p.drill_schedule_expression != null ? p.drill_schedule_expression : var.drill_schedule_expression
      enable_restore            = p.enable_restore != null ? p.enable_restore : var.enable_restore
      import_role_arn           = p.import_role_arn != null ? p.import_role_arn : var.import_role_arn
      app_client_ids            = p.app_client_ids != null ? p.app_client_ids : []
      # The secret and its key go together: a pool naming its own secret
      # does not take the module's key (the key of the module's secret).
      age_identity_secret_arn         = p.age_identity_secret_arn != null ? p.age_identity_secret_arn : var.age_identity_secret_arn
      age_identity_secret_kms_key_arn = p.age_identity_secret_kms_key_arn != null ? p.age_identity_secret_kms_key_arn : (p.age_identity_secret_arn != null ? null : var.age_identity_secret_kms_key_arn)
    } },
    { for id in [var.user_pool_id] : local.single_pool_key => {
      user_pool_id                    = id
      name                            = var.function_name
      repository_prefix               = var.repository_prefix
      retention                       = var.retention
      schedule_expression             = var.schedule_expression
      drill_schedule_expression       = var.drill_schedule_expression
      enable_restore                  = var.enable_restore
      import_role_arn                 = var.import_role_arn
      app_client_ids                  = var.app_client_ids
      age_identity_secret_arn         = var.age_identity_secret_arn
      age_identity_secret_kms_key_arn = var.age_identity_secret_kms_key_arn
    } if id != null },
  )

  # A pool id starts with its region: "eu-west-1_AbCdEf123".
  pool_regions = { for k, p in local.pools : k => split("_", p.user_pool_id)[0] }
  pool_arns    = { for k, p in local.pools : k => "arn:${local.partition}:cognito-idp:${local.region}:${local.account}:userpool/${p.user_pool_id}" }

  repository_urls = { for k, p in local.pools : k => "s3://${local.bucket_name}/${p.repository_prefix}" }

  # Names of the shared keys' aliases: the pool's id with one pool, as
  # before var.pools ("eu-west-1_AbCdEf123" -> "eu-west-1-abcdef123", for
  # names that allow no "_" or capitals), else the deployment's name.
  deployment_slug = var.user_pool_id != null ? replace(lower(var.user_pool_id), "_", "-") : lower(var.function_name)
}

# With log_kms_key_arn the logs are encrypted with that key; its key policy
# must let the CloudWatch Logs service principal logs.<region>.amazonaws.com
# use it (CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs
# using AWS KMS").
resource "aws_cloudwatch_log_group" "capture" {
  for_each = local.pools

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "worker" {
  for_each = local.pools

  name              = "/aws/lambda/${each.value.name}-worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

# Two functions from one package: the handler tells events apart by their
# shape, so each function runs the same code, and what each may do is its
# role's business (iam.tf).
#
# capture: the Cognito PostConfirmation trigger (answers within the
# trigger's 5 s budget on its own) and EventBridge events for Cognito API
# calls recorded by CloudTrail. Its role may only add journal objects.
resource "aws_lambda_function" "capture" {
  for_each = local.pools

  function_name    = each.value.name
  description      = "cogvault capture: journal of Cognito user pool ${each.value.user_pool_id}"
  role             = aws_iam_role.capture[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  memory_size      = var.capture_memory_size
  timeout          = var.capture_timeout

  reserved_concurrent_executions = var.capture_reserved_concurrency == null ? -1 : var.capture_reserved_concurrency

  environment {
    variables = {
      COGVAULT_REPO        = local.repository_urls[each.key]
      COGVAULT_POOL_ID     = each.value.user_pool_id
      COGVAULT_KMS_KEY_ID  = local.use_kms ? local.kms_key_arn : ""
      COGVAULT_SIGNING_KEY = "kms:${local.signing_key_arn}"
      COGVAULT_REPO_KEY    = local.signing_public_key
    }
  }

  tags = var.tags

  # The log group must exist before the first invocation: the role may write
  # to it but not create it.
  depends_on = [
    aws_cloudwatch_log_group.capture,
    aws_iam_role_policy.capture,
  ]

  lifecycle {
    precondition {
      condition     = local.pool_regions[each.key] == local.region
      error_message = "The user pool ${each.value.user_pool_id} is in ${local.pool_regions[each.key]}, but the AWS provider is configured for ${local.region}. Cognito events are delivered in the pool's region only: configure the provider for ${local.pool_regions[each.key]}, with a module block per region."
    }
    precondition {
      condition     = length(each.value.name) <= 46
      error_message = "The name ${each.value.name} (function_name-<pool key>) is longer than 46 characters: the module's longest name, the EventBridge rule <name>-cognito-api-calls, is limited to 64. Shorten function_name or the pool's key."
    }
    precondition {
      condition     = var.existing_bucket == null || var.bucket_name == null
      error_message = "Set at most one of existing_bucket (use a bucket) and bucket_name (create a bucket)."
    }
    precondition {
      condition     = var.existing_bucket == null || !var.object_lock
      error_message = "object_lock applies to a bucket the module creates; enable Object Lock on an existing bucket yourself."
    }
    precondition {
      condition     = var.signing_public_key == null || var.signing_key_arn != null
      error_message = "signing_public_key is the public key of signing_key_arn: set signing_key_arn too, or leave both null for a key the module creates."
    }
  }
}

# worker: the scheduled snapshot (with forget and prune) and manual
# restores, {"action": "snapshot" | "restore", ...}. The only role that may
# delete repository objects.
resource "aws_lambda_function" "worker" {
  for_each = local.pools

  function_name    = "${each.value.name}-worker"
  description      = "cogvault worker: snapshots and restores of Cognito user pool ${each.value.user_pool_id}"
  role             = aws_iam_role.worker[each.key].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = local.lambda_zip
  source_code_hash = filebase64sha256(local.lambda_zip)
  memory_size      = var.memory_size
  timeout          = 900

  reserved_concurrent_executions = var.worker_reserved_concurrency == null ? -1 : var.worker_reserved_concurrency

  environment {
    variables = {
      COGVAULT_REPO            = local.repository_urls[each.key]
      COGVAULT_POOL_ID         = each.value.user_pool_id
      COGVAULT_KMS_KEY_ID      = local.use_kms ? local.kms_key_arn : ""
      COGVAULT_SIGNING_KEY     = "kms:${local.signing_key_arn}"
      COGVAULT_REPO_KEY        = local.signing_public_key
      COGVAULT_KEEP_LAST       = tostring(each.value.retention.last)
      COGVAULT_KEEP_DAILY      = tostring(each.value.retention.daily)
      COGVAULT_KEEP_WEEKLY     = tostring(each.value.retention.weekly)
      COGVAULT_KEEP_MONTHLY    = tostring(each.value.retention.monthly)
      COGVAULT_IMPORT_ROLE_ARN = each.value.import_role_arn
      # The worker alone decrypts (restores, drills); "" for none.
      COGVAULT_AGE_IDENTITY_SECRET_ARN = each.value.age_identity_secret_arn == null ? "" : each.value.age_identity_secret_arn
    }
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.worker,
    aws_iam_role_policy.worker,
  ]

  lifecycle {
    # A key for no secret would grant kms:Decrypt for nothing; a secret's
    # key is in the secret's own Region (Secrets Manager user guide, "Secret
    # encryption and decryption": a key "in the account and Region").
    precondition {
      condition     = each.value.age_identity_secret_kms_key_arn == null || each.value.age_identity_secret_arn != null
      error_message = "age_identity_secret_kms_key_arn is set for pool ${each.key} without age_identity_secret_arn: name the secret it encrypts, or leave the key null."
    }
    precondition {
      condition     = each.value.age_identity_secret_kms_key_arn == null || each.value.age_identity_secret_arn == null ? true : split(":", coalesce(each.value.age_identity_secret_kms_key_arn, "::::"))[3] == split(":", coalesce(each.value.age_identity_secret_arn, "::::"))[3]
      error_message = "age_identity_secret_kms_key_arn of pool ${each.key} is in another Region than its secret: Secrets Manager encrypts a secret with a key of the secret's own Region."
    }
  }
}

# PostConfirmation trigger. Terraform cannot add one trigger to a pool it does
# not manage as a whole, so the module only allows Cognito to invoke the
# function; the pool's own aws_cognito_user_pool resource sets
# lambda_config { post_confirmation = module.<name>.function_arn } (README.md).
resource "aws_lambda_permission" "cognito" {
  for_each = local.pools

  statement_id   = "AllowCognitoPostConfirmation"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.capture[each.key].function_name
  principal      = "cognito-idp.amazonaws.com"
  source_arn     = local.pool_arns[each.key]
  source_account = local.account
}

# Cognito API calls on the pool, as recorded by CloudTrail (management events,
# which need a trail in the account; see README.md). A rule in the ENABLED
# state receives the calls that change something, not read-only ones.
# CloudTrail records API calls as "AWS API Call via CloudTrail" and managed
# login / hosted UI requests (e.g. Confirm_POST) as "AWS Service Event via
# CloudTrail"; the latter name the pool in additionalEventData.userPoolId
# (the developer guide's example events). Self-service calls name no pool:
# those with an app client id match by app_client_ids; those authorised by an
# access token only with capture_unscoped_self_service, and the function then
# keeps only subs of its own pool. docs/cognito-facts.md section 14.
locals {
  # capture.SelfServiceChanges (a test checks).
  self_service_actions = [
    "ConfirmForgotPassword", "ConfirmSignUp", "DeleteUser", "DeleteUserAttributes", "SetUserMFAPreference",
    "SetUserSettings", "SignUp", "UpdateUserAttributes", "VerifySoftwareToken", "VerifyUserAttribute",
  ]
  event_match_pool = { for k, p in local.pools : k => [
    { detail = { requestParameters = { userPoolId = [p.user_pool_id] } } },
    { detail = { additionalEventData = { userPoolId = [p.user_pool_id] } } },
  ] }
  # for-filters, not conditionals: the two branches would be tuples of different types.
  event_match_clients = { for k, p in local.pools : k => [for m in [
    { detail = { requestParameters = { clientId = p.app_client_ids } } },
    { detail = { additionalEventData = { requestParameters = { client_id = p.app_client_ids } } } },
  ] : m if length(p.app_client_ids) > 0] }
  event_match_unscoped = [for m in [
    { detail = { eventName = local.self_service_actions, requestParameters = { userPoolId = [{ exists = false }] } } },
  ] : m if var.capture_unscoped_self_service]
}

resource "aws_cloudwatch_event_rule" "cognito_api" {
  for_each = local.pools

  name        = "${each.value.name}-cognito-api-calls"
  description = "cogvault: Cognito API calls on user pool ${each.value.user_pool_id}"

  event_pattern = jsonencode({
    source      = ["aws.cognito-idp"]
    detail-type = ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"]
    "$or"       = concat(local.event_match_pool[each.key], local.event_match_clients[each.key], local.event_match_unscoped)
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "cognito_api" {
  for_each = local.pools

  rule      = aws_cloudwatch_event_rule.cognito_api[each.key].name
  target_id = "cogvault"
  arn       = aws_lambda_function.capture[each.key].arn
}

resource "aws_lambda_permission" "events" {
  for_each = local.pools

  statement_id  = "AllowEventBridgeCognitoApiCalls"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.capture[each.key].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.cognito_api[each.key].arn
}

# The full snapshot, with retention applied after it: the schedule starts the
# state machine (sfn.tf), which invokes the worker until the snapshot is done.
resource "aws_scheduler_schedule" "snapshot" {
  for_each = local.pools

  name        = "${each.value.name}-snapshot"
  description = "cogvault: full snapshot of user pool ${each.value.user_pool_id}"

  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.worker[each.key].arn
    role_arn = aws_iam_role.scheduler[each.key].arn
    input    = jsonencode({ action = "snapshot" })
  }
}

# The restore drill (restore the latest snapshot into a scratch pool and
# compare), weekly when drill_schedule_expression is set.
resource "aws_scheduler_schedule" "drill" {
  for_each = { for k, p in local.pools : k => p if p.drill_schedule_expression != null }

  name        = "${each.value.name}-drill"
  description = "cogvault: restore drill of user pool ${each.value.user_pool_id}"

  schedule_expression          = each.value.drill_schedule_expression
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.worker[each.key].arn
    role_arn = aws_iam_role.scheduler[each.key].arn
    input    = jsonencode({ action = "drill" })
  }
}
