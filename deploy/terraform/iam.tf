# Every Cognito action the function calls, one list per purpose. Kept sorted
# and written out literally: deploy/terraform/terraform_test.go checks they
# equal capture.Actions, and internal/capture's tests check the code calls
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
    "cognito-idp:ListUsers",
    "cognito-idp:StartUserImportJob",
  ]
  # Actions the Service Authorization Reference ("Actions, resources, and
  # condition keys for Amazon Cognito User Pools") lists with no resource
  # type: IAM grants them only on "*". DescribeUserPoolDomain names a domain,
  # not a pool, so a policy scoped to the pool's ARN refuses it and the
  # snapshot of any pool with a domain would fail. Every other action the
  # function calls takes the userpool resource type. terraform_test.go checks
  # this list against capture.ResourceTypes.
  cognito_actions_any_resource = [
    "cognito-idp:DescribeUserPoolDomain",
  ]
  s3_object_actions = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
  s3_bucket_actions = ["s3:ListBucket"]
}

locals {
  # Capture and snapshot always; the write actions only when restores are
  # enabled, so a capture-only deployment cannot change users.
  cognito_actions = sort(distinct(concat(
    local.cognito_actions_capture,
    local.cognito_actions_snapshot,
    var.enable_restore ? local.cognito_actions_restore : [],
  )))
  cognito_actions_on_pool = sort(setsubtract(local.cognito_actions, local.cognito_actions_any_resource))
  cognito_actions_on_any  = sort(setintersection(local.cognito_actions, local.cognito_actions_any_resource))

  # Import jobs are part of restores: without enable_restore the function
  # cannot start one, so it gets no role to pass either.
  use_import_role = var.enable_restore && var.import_role_arn != ""
}

# The function's execution role.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.function_name}-lambda"
  description        = "cogvault Lambda function for Cognito user pool ${var.user_pool_id}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "UserPool"
    actions   = local.cognito_actions_on_pool
    resources = [local.pool_arn]
  }

  # No resource-level permissions for these (see local.cognito_actions_any_resource).
  statement {
    sid       = "CognitoAnyResource"
    actions   = local.cognito_actions_on_any
    resources = ["*"]
  }

  statement {
    sid       = "RepositoryObjects"
    actions   = local.s3_object_actions
    resources = ["${local.bucket_arn}/${var.repository_prefix}/*"]
  }

  statement {
    sid       = "RepositoryList"
    actions   = local.s3_bucket_actions
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.repository_prefix}/*"]
    }
  }

  dynamic "statement" {
    for_each = local.use_kms ? [local.kms_key_arn] : []

    content {
      sid       = "RepositoryKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # Metrics (CaptureFailures, …) are CloudWatch embedded-metric-format log
  # lines: no cloudwatch:PutMetricData needed.

  dynamic "statement" {
    for_each = local.use_import_role ? [var.import_role_arn] : []

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
    for_each = local.use_import_role ? [var.user_pool_id] : []

    content {
      sid       = "ReadImportJobLogs"
      actions   = ["logs:GetLogEvents"]
      resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/cognito/userpools/${statement.value}/*"]
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "cogvault"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# The role EventBridge Scheduler assumes to start the snapshot.

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
  name               = "${var.function_name}-scheduler"
  description        = "EventBridge Scheduler: starts cogvault snapshots of Cognito user pool ${var.user_pool_id}"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeCogvault"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-cogvault"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}
