output "function_arn" {
  description = "With user_pool_id: ARN of the capture function (null with pools; see the pools output). Set it as lambda_config.post_confirmation on the pool's aws_cognito_user_pool to attach the trigger."
  value       = try(aws_lambda_function.capture[local.single_pool_key].arn, null)
}

output "function_name" {
  description = "Name of the capture function (PostConfirmation trigger and change events)."
  value       = try(aws_lambda_function.capture[local.single_pool_key].function_name, null)
}

output "worker_function_arn" {
  description = "ARN of the worker function (scheduled snapshots, manual restores)."
  value       = try(aws_lambda_function.worker[local.single_pool_key].arn, null)
}

output "worker_function_name" {
  description = "Name of the worker function. Long requests (snapshots, restores) go through the state machine (state_machine_arn), which invokes it step by step."
  value       = try(aws_lambda_function.worker[local.single_pool_key].function_name, null)
}

output "bucket_name" {
  description = "Name of the S3 bucket holding the repository (created or existing)."
  value       = local.bucket_name
}

output "repository_url" {
  description = "The repository, s3://<bucket>/<prefix>: what the cogvault CLI takes as --repo (or COGVAULT_REPO)."
  value       = try(local.repository_urls[local.single_pool_key], null)
}

output "kms_key_arn" {
  description = "ARN of the KMS key the repository is encrypted with (created or given); null when none is used."
  value       = local.kms_key_arn
}

output "signing_key_arn" {
  description = "ARN of the KMS key (Ed25519, SIGN_VERIFY) the functions sign the repository with."
  value       = local.signing_key_arn
}

output "repository_public_key" {
  description = "Public key of the signing key, base64 of its DER SubjectPublicKeyInfo: what readers pin as COGVAULT_REPO_KEY to verify the repository."
  value       = local.signing_public_key
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule matching Cognito API calls on the pool."
  value       = try(aws_cloudwatch_event_rule.cognito_api[local.single_pool_key].arn, null)
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule starting the full snapshot."
  value       = try(aws_scheduler_schedule.snapshot[local.single_pool_key].arn, null)
}

output "capture_role_arn" {
  description = "ARN of the capture function's execution role (may add journal objects only)."
  value       = try(aws_iam_role.capture[local.single_pool_key].arn, null)
}

output "worker_role_arn" {
  description = "ARN of the worker function's execution role (the only one that may delete repository objects)."
  value       = try(aws_iam_role.worker[local.single_pool_key].arn, null)
}

output "state_machine_arn" {
  description = "ARN of the Step Functions state machine that runs worker requests to the end: aws stepfunctions start-execution --state-machine-arn <this> --input '{\"action\":\"restore\", ...}'."
  value       = try(aws_sfn_state_machine.worker[local.single_pool_key].arn, null)
}

output "capture_failures_queue_url" {
  description = "URL of the SQS queue holding change events that failed capture after Lambda's retries: what cogvault journal replay --queue takes."
  value       = try(aws_sqs_queue.capture_failures[local.single_pool_key].url, null)
}

output "pools" {
  description = "Per pool key (\"default\" with user_pool_id): function_arn (the pool's PostConfirmation trigger), function_name, worker_function_arn, state_machine_arn (start restores there), repository_url (for the CLI's --repo), capture_failures_queue_url, event_rule_arn, schedule_arn, capture_role_arn and worker_role_arn."
  value = { for k, p in local.pools : k => {
    function_arn               = aws_lambda_function.capture[k].arn
    function_name              = aws_lambda_function.capture[k].function_name
    worker_function_arn        = aws_lambda_function.worker[k].arn
    state_machine_arn          = aws_sfn_state_machine.worker[k].arn
    repository_url             = local.repository_urls[k]
    capture_failures_queue_url = aws_sqs_queue.capture_failures[k].url
    event_rule_arn             = aws_cloudwatch_event_rule.cognito_api[k].arn
    schedule_arn               = aws_scheduler_schedule.snapshot[k].arn
    capture_role_arn           = aws_iam_role.capture[k].arn
    worker_role_arn            = aws_iam_role.worker[k].arn
  } }
}
