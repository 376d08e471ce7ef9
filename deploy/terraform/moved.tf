# Resource addresses of deployments made before var.pools, when the module
# protected the one pool of var.user_pool_id: its resources are now the
# instances of that pool's key, "default", so `terraform plan` shows moves,
# not replacements (Terraform's "Refactoring" documentation: enabling
# for_each on a resource, and chained moved blocks). Data sources need no
# move.
#
# Before the split into two functions, the one function was
# aws_lambda_function.this: chained through aws_lambda_function.capture.
moved {
  from = aws_lambda_function.this
  to   = aws_lambda_function.capture
}

moved {
  from = aws_cloudwatch_log_group.this
  to   = aws_cloudwatch_log_group.capture
}

moved {
  from = aws_lambda_function.capture
  to   = aws_lambda_function.capture["default"]
}

moved {
  from = aws_cloudwatch_log_group.capture
  to   = aws_cloudwatch_log_group.capture["default"]
}

moved {
  from = aws_lambda_function.worker
  to   = aws_lambda_function.worker["default"]
}

moved {
  from = aws_cloudwatch_log_group.worker
  to   = aws_cloudwatch_log_group.worker["default"]
}

moved {
  from = aws_lambda_permission.cognito
  to   = aws_lambda_permission.cognito["default"]
}

moved {
  from = aws_cloudwatch_event_rule.cognito_api
  to   = aws_cloudwatch_event_rule.cognito_api["default"]
}

moved {
  from = aws_cloudwatch_event_target.cognito_api
  to   = aws_cloudwatch_event_target.cognito_api["default"]
}

moved {
  from = aws_lambda_permission.events
  to   = aws_lambda_permission.events["default"]
}

moved {
  from = aws_scheduler_schedule.snapshot
  to   = aws_scheduler_schedule.snapshot["default"]
}

moved {
  from = aws_scheduler_schedule.drill[0]
  to   = aws_scheduler_schedule.drill["default"]
}

moved {
  from = aws_sfn_state_machine.worker
  to   = aws_sfn_state_machine.worker["default"]
}

moved {
  from = aws_iam_role.states
  to   = aws_iam_role.states["default"]
}

moved {
  from = aws_iam_role_policy.states
  to   = aws_iam_role_policy.states["default"]
}

moved {
  from = aws_iam_role.capture
  to   = aws_iam_role.capture["default"]
}

moved {
  from = aws_iam_role_policy.capture
  to   = aws_iam_role_policy.capture["default"]
}

moved {
  from = aws_iam_role.worker
  to   = aws_iam_role.worker["default"]
}

moved {
  from = aws_iam_role_policy.worker
  to   = aws_iam_role_policy.worker["default"]
}

moved {
  from = aws_iam_role.scheduler
  to   = aws_iam_role.scheduler["default"]
}

moved {
  from = aws_iam_role_policy.scheduler
  to   = aws_iam_role_policy.scheduler["default"]
}

moved {
  from = aws_sqs_queue.capture_failures
  to   = aws_sqs_queue.capture_failures["default"]
}

moved {
  from = aws_lambda_function_event_invoke_config.capture
  to   = aws_lambda_function_event_invoke_config.capture["default"]
}

moved {
  from = aws_cloudwatch_metric_alarm.failures["capture-failures"]
  to   = aws_cloudwatch_metric_alarm.failures["default/capture-failures"]
}

moved {
  from = aws_cloudwatch_metric_alarm.failures["snapshot-failures"]
  to   = aws_cloudwatch_metric_alarm.failures["default/snapshot-failures"]
}

moved {
  from = aws_cloudwatch_metric_alarm.failures["restore-failures"]
  to   = aws_cloudwatch_metric_alarm.failures["default/restore-failures"]
}

moved {
  from = aws_cloudwatch_metric_alarm.no_snapshot
  to   = aws_cloudwatch_metric_alarm.no_snapshot["default"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions["ExecutionsFailed"]
  to   = aws_cloudwatch_metric_alarm.executions["default/ExecutionsFailed"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions["ExecutionsTimedOut"]
  to   = aws_cloudwatch_metric_alarm.executions["default/ExecutionsTimedOut"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions["ExecutionsAborted"]
  to   = aws_cloudwatch_metric_alarm.executions["default/ExecutionsAborted"]
}

moved {
  from = aws_cloudwatch_metric_alarm.dead_letters
  to   = aws_cloudwatch_metric_alarm.dead_letters["default"]
}

moved {
  from = aws_cloudwatch_metric_alarm.drill[0]
  to   = aws_cloudwatch_metric_alarm.drill["default"]
}
