output "function_arn" {
  description = "ARN of the capture function. Set it as lambda_config.post_confirmation on the pool's aws_cognito_user_pool to attach the trigger."
  value       = aws_lambda_function.capture.arn
}

output "function_name" {
  description = "Name of the capture function (PostConfirmation trigger and change events)."
  value       = aws_lambda_function.capture.function_name
}

output "worker_function_arn" {
  description = "ARN of the worker function (scheduled snapshots, manual restores)."
  value       = aws_lambda_function.worker.arn
}

output "worker_function_name" {
  description = "Name of the worker function. Long requests (snapshots, restores) go through the state machine (state_machine_arn), which invokes it step by step."
  value       = aws_lambda_function.worker.function_name
}

output "bucket_name" {
  description = "Name of the S3 bucket holding the repository (created or existing)."
  value       = local.bucket_name
}

output "repository_url" {
  description = "The repository, s3://<bucket>/<prefix>: what the cogvault CLI takes as --repo (or COGVAULT_REPO)."
  value       = local.repository_url
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
  value       = aws_cloudwatch_event_rule.cognito_api.arn
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule starting the full snapshot."
  value       = aws_scheduler_schedule.snapshot.arn
}

output "capture_role_arn" {
  description = "ARN of the capture function's execution role (may add journal objects only)."
  value       = aws_iam_role.capture.arn
}

output "worker_role_arn" {
  description = "ARN of the worker function's execution role (the only one that may delete repository objects)."
  value       = aws_iam_role.worker.arn
}

output "state_machine_arn" {
  description = "ARN of the Step Functions state machine that runs worker requests to the end: aws stepfunctions start-execution --state-machine-arn <this> --input '{\"action\":\"restore\", ...}'."
  value       = aws_sfn_state_machine.worker.arn
}

output "capture_failures_queue_url" {
  description = "URL of the SQS queue holding change events that failed capture after Lambda's retries: what cogvault journal replay --queue takes."
  value       = aws_sqs_queue.capture_failures.url
}
