output "function_arn" {
  description = "ARN of the Lambda function. Set it as lambda_config.post_confirmation on the pool's aws_cognito_user_pool to attach the trigger."
  value       = aws_lambda_function.this.arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
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

output "event_rule_arn" {
  description = "ARN of the EventBridge rule matching Cognito API calls on the pool."
  value       = aws_cloudwatch_event_rule.cognito_api.arn
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule starting the full snapshot."
  value       = aws_scheduler_schedule.snapshot.arn
}

output "role_arn" {
  description = "ARN of the Lambda function's execution role (grant it access to an existing bucket's KMS key or bucket policy if needed)."
  value       = aws_iam_role.lambda.arn
}
