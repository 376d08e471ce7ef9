output "role_arn" {
  description = "ARN of the role: the cogvault module's migration.source_role_arn."
  value       = aws_iam_role.source.arn
}
