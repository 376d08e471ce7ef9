# Long work (snapshots of large pools, restores, drills) runs as a Step
# Functions Standard workflow that invokes the worker until it answers
# {"done": true} (worker.asl.json): each invocation does a bounded step and
# checkpoints in the repository, so no single one needs more than the
# function's 900 s. Standard, not Express: an Express execution ends after
# 5 minutes (the Step Functions guide, "Choosing workflow type").
resource "aws_sfn_state_machine" "worker" {
  name     = "${var.function_name}-worker"
  role_arn = aws_iam_role.states.arn
  type     = "STANDARD"

  definition = templatefile("${path.module}/worker.asl.json", {
    worker_function_arn = aws_lambda_function.worker.arn
  })

  tags = var.tags
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
  name                 = "${var.function_name}-states"
  path                 = var.role_path
  permissions_boundary = var.permissions_boundary
  description          = "Step Functions: runs cogvault worker steps for Cognito user pool ${var.user_pool_id}"
  assume_role_policy   = data.aws_iam_policy_document.states_assume.json
  tags                 = var.tags
}

# The lambda:invoke integration calls Invoke on the function it names, and
# nothing else (the Step Functions guide, "IAM policies for invoking AWS
# Lambda").
data "aws_iam_policy_document" "states" {
  statement {
    sid       = "InvokeWorker"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.worker.arn]
  }
}

resource "aws_iam_role_policy" "states" {
  name   = "invoke-cogvault-worker"
  role   = aws_iam_role.states.id
  policy = data.aws_iam_policy_document.states.json
}
