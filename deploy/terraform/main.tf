data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.region
  account   = data.aws_caller_identity.current.account_id

  # A pool id starts with its region: "eu-west-1_AbCdEf123".
  pool_region = split("_", var.user_pool_id)[0]
  pool_arn    = "arn:${local.partition}:cognito-idp:${local.region}:${local.account}:userpool/${var.user_pool_id}"
  # "eu-west-1_AbCdEf123" -> "eu-west-1-abcdef123", for names that allow no "_" or capitals.
  pool_slug = replace(lower(var.user_pool_id), "_", "-")

  # Built by `make lambda` in the repository root.
  lambda_zip = coalesce(var.lambda_zip, "${path.module}/../../dist/cogvault-lambda-${var.architecture == "arm64" ? "arm64" : "amd64"}.zip")

  repository_url = "s3://${local.bucket_name}/${var.repository_prefix}"
}

locals {
  capture_function_name = var.function_name
  worker_function_name  = "${var.function_name}-worker"
}

# With log_kms_key_arn the logs are encrypted with that key; its key policy
# must let the CloudWatch Logs service principal logs.<region>.amazonaws.com
# use it (CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs
# using AWS KMS").
resource "aws_cloudwatch_log_group" "capture" {
  name              = "/aws/lambda/${local.capture_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "worker" {
  name              = "/aws/lambda/${local.worker_function_name}"
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
  function_name    = local.capture_function_name
  description      = "cogvault capture: journal of Cognito user pool ${var.user_pool_id}"
  role             = aws_iam_role.capture.arn
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
      COGVAULT_REPO        = local.repository_url
      COGVAULT_POOL_ID     = var.user_pool_id
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
      condition     = local.pool_region == local.region
      error_message = "The user pool ${var.user_pool_id} is in ${local.pool_region}, but the AWS provider is configured for ${local.region}. Cognito events are delivered in the pool's region only: configure the provider for ${local.pool_region}."
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
  function_name    = local.worker_function_name
  description      = "cogvault worker: snapshots and restores of Cognito user pool ${var.user_pool_id}"
  role             = aws_iam_role.worker.arn
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
      COGVAULT_REPO            = local.repository_url
      COGVAULT_POOL_ID         = var.user_pool_id
      COGVAULT_KMS_KEY_ID      = local.use_kms ? local.kms_key_arn : ""
      COGVAULT_SIGNING_KEY     = "kms:${local.signing_key_arn}"
      COGVAULT_REPO_KEY        = local.signing_public_key
      COGVAULT_KEEP_LAST       = tostring(var.retention.last)
      COGVAULT_KEEP_DAILY      = tostring(var.retention.daily)
      COGVAULT_KEEP_WEEKLY     = tostring(var.retention.weekly)
      COGVAULT_KEEP_MONTHLY    = tostring(var.retention.monthly)
      COGVAULT_IMPORT_ROLE_ARN = var.import_role_arn
    }
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.worker,
    aws_iam_role_policy.worker,
  ]
}

# Before the split, the one function was aws_lambda_function.this with the
# capture function's name: keep it (and its logs) in place, so the trigger
# attached to the pool still points at the function that handles it.
moved {
  from = aws_lambda_function.this
  to   = aws_lambda_function.capture
}

moved {
  from = aws_cloudwatch_log_group.this
  to   = aws_cloudwatch_log_group.capture
}

# PostConfirmation trigger. Terraform cannot add one trigger to a pool it does
# not manage as a whole, so the module only allows Cognito to invoke the
# function; the pool's own aws_cognito_user_pool resource sets
# lambda_config { post_confirmation = module.<name>.function_arn } (README.md).
resource "aws_lambda_permission" "cognito" {
  statement_id   = "AllowCognitoPostConfirmation"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.capture.function_name
  principal      = "cognito-idp.amazonaws.com"
  source_arn     = local.pool_arn
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
  event_match_pool = [
    { detail = { requestParameters = { userPoolId = [var.user_pool_id] } } },
    { detail = { additionalEventData = { userPoolId = [var.user_pool_id] } } },
  ]
  # for-filters, not conditionals: the two branches would be tuples of different types.
  event_match_clients = [for m in [
    { detail = { requestParameters = { clientId = var.app_client_ids } } },
    { detail = { additionalEventData = { requestParameters = { client_id = var.app_client_ids } } } },
  ] : m if length(var.app_client_ids) > 0]
  event_match_unscoped = [for m in [
    { detail = { eventName = local.self_service_actions, requestParameters = { userPoolId = [{ exists = false }] } } },
  ] : m if var.capture_unscoped_self_service]
}

resource "aws_cloudwatch_event_rule" "cognito_api" {
  name        = "${var.function_name}-cognito-api-calls"
  description = "cogvault: Cognito API calls on user pool ${var.user_pool_id}"

  event_pattern = jsonencode({
    source      = ["aws.cognito-idp"]
    detail-type = ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"]
    "$or"       = concat(local.event_match_pool, local.event_match_clients, local.event_match_unscoped)
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "cognito_api" {
  rule      = aws_cloudwatch_event_rule.cognito_api.name
  target_id = "cogvault"
  arn       = aws_lambda_function.capture.arn
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridgeCognitoApiCalls"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.capture.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.cognito_api.arn
}

# The full snapshot, with retention applied after it: the schedule starts the
# state machine (sfn.tf), which invokes the worker until the snapshot is done.
resource "aws_scheduler_schedule" "snapshot" {
  name        = "${var.function_name}-snapshot"
  description = "cogvault: full snapshot of user pool ${var.user_pool_id}"

  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.worker.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ action = "snapshot" })
  }
}

# The restore drill (restore the latest snapshot into a scratch pool and
# compare), weekly when drill_schedule_expression is set.
resource "aws_scheduler_schedule" "drill" {
  count       = var.drill_schedule_expression == null ? 0 : 1
  name        = "${var.function_name}-drill"
  description = "cogvault: restore drill of user pool ${var.user_pool_id}"

  schedule_expression          = var.drill_schedule_expression
  schedule_expression_timezone = "UTC"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.worker.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ action = "drill" })
  }
}
