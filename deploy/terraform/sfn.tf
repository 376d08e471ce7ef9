# Long work (snapshots of large pools, restores, drills) runs as a Step
# Functions Standard workflow that invokes the worker until it answers
# {"done": true} (worker.asl.json): each invocation does a bounded step and
# checkpoints in the repository, so no single one needs more than the
# function's 900 s. Standard, not Express: an Express execution ends after
# 5 minutes (the Step Functions guide, "Choosing workflow type").
resource "aws_sfn_state_machine" "worker" {
  for_each = local.pools

  name     = "${each.value.name}-worker"
  role_arn = aws_iam_role.states[each.key].arn
  type     = "STANDARD"

  definition = templatefile("${path.module}/worker.asl.json", {
    worker_function_arn = aws_lambda_function.worker[each.key].arn
  })

  # Execution events to CloudWatch Logs (the Step Functions guide, "Logging
  # using CloudWatch Logs"; API reference, LoggingConfiguration: level ALL |
  # ERROR | FATAL | OFF, one destination, the log group's ARN ending in
  # ":*"). Execution data is left out by default: a step's input is the
  # request (a restore names its target pool and snapshot) and its output
  # the worker's answer, and the execution history already keeps both for
  # those allowed to read it (states:GetExecutionHistory); a log group is
  # often readable more widely and kept longer.
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.states[each.key].arn}:*"
    level                  = var.state_machine_log_level
    include_execution_data = var.state_machine_include_execution_data
  }

  tags = var.tags

  # The role must hold the log-delivery grants before Step Functions checks
  # the logging configuration.
  depends_on = [aws_iam_role_policy.states]
}

# "/aws/vendedlogs/": the prefix the CloudWatch Logs guide uses for logs
# AWS services deliver on your behalf ("Enabling logging from AWS
# services"); retention and encryption as the functions' log groups.
resource "aws_cloudwatch_log_group" "states" {
  for_each = local.pools

  name              = "/aws/vendedlogs/states/${each.value.name}-worker"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "states" {
  for_each = local.pools

  name                 = "${each.value.name}-states"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "Step Functions: runs cogvault worker steps for Cognito user pool ${each.value.user_pool_id}"
  assume_role_policy   = data.aws_iam_policy_document.states_assume.json
  tags                 = var.tags
}

# The lambda:invoke integration calls Invoke on the function it names, and
# nothing else (the Step Functions guide, "IAM policies for invoking AWS
# Lambda").
data "aws_iam_policy_document" "states" {
  for_each = local.pools

  statement {
    sid       = "InvokeWorker"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.worker[each.key].arn]
  }

  # Exactly the actions the Step Functions guide lists for logging to
  # CloudWatch Logs ("IAM policies for logging to CloudWatch Logs"), on
  # "*" as there: log deliveries have no resource-level permissions, and
  # the CloudWatch Logs guide asks for a wildcard on the resource-policy
  # actions ("Enabling logging from AWS services").
  statement {
    sid       = "LogDelivery"
    actions   = local.states_log_delivery_actions
    resources = ["*"]
  }
}

locals {
  # Sorted; workflow_test.go checks them against the guide's list.
  states_log_delivery_actions = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
  ]
}

resource "aws_iam_role_policy" "states" {
  for_each = local.pools

  name   = "invoke-cogvault-worker"
  role   = aws_iam_role.states[each.key].id
  policy = data.aws_iam_policy_document.states[each.key].json
}
