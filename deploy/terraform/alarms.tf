# CloudWatch alarms. The functions emit their counters as embedded metric
# format log lines in the namespace "cogvault" with the dimension PoolId;
# the others are the services' own metrics. Every alarm notifies
# alarm_topic_arn (when set) on ALARM and on OK.

locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  # Counters the functions raise on failure: any in five minutes alarms.
  # Missing data means nothing failed.
  failure_metrics = {
    capture-failures  = "CaptureFailures"
    snapshot-failures = "SnapshotFailures"
    restore-failures  = "RestoreFailures"
  }
  # One alarm per pool and metric, keyed "<pool>/<suffix>".
  pool_failure_alarms = merge([for k, p in local.pools : {
    for suffix, metric in local.failure_metrics : "${k}/${suffix}" => { pool = k, suffix = suffix, metric = metric }
  }]...)
  pool_execution_alarms = merge([for k, p in local.pools : {
    for metric in ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] : "${k}/${metric}" => { pool = k, metric = metric }
  }]...)
}

resource "aws_cloudwatch_metric_alarm" "failures" {
  for_each = local.pool_failure_alarms

  alarm_name          = "${local.pools[each.value.pool].name}-${each.value.suffix}"
  alarm_description   = "cogvault: ${each.value.metric} > 0 for user pool ${local.pools[each.value.pool].user_pool_id} (see the worker's and capture function's logs)."
  namespace           = "cogvault"
  metric_name         = each.value.metric
  dimensions          = { PoolId = local.pools[each.value.pool].user_pool_id }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The heartbeat: no successful snapshot in 26 hours (a daily schedule plus
# two hours' slack), so a schedule that silently stopped is noticed too.
# Missing data is what a stopped schedule looks like: it breaches. 26
# one-hour periods: CloudWatch allows a total evaluation range of up to
# 7 days for periods of an hour or more (PutMetricAlarm, Period).
resource "aws_cloudwatch_metric_alarm" "no_snapshot" {
  for_each = local.pools

  alarm_name          = "${each.value.name}-no-snapshot-26h"
  alarm_description   = "cogvault: no successful snapshot of user pool ${each.value.user_pool_id} for 26 hours."
  namespace           = "cogvault"
  metric_name         = "Snapshots"
  dimensions          = { PoolId = each.value.user_pool_id }
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 26
  datapoints_to_alarm = 26
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# A state-machine execution that failed or timed out: a worker error after
# the retries, a bad answer, or an abort (AWS/States execution metrics,
# dimension StateMachineArn).
resource "aws_cloudwatch_metric_alarm" "executions" {
  for_each = local.pool_execution_alarms

  alarm_name          = "${local.pools[each.value.pool].name}-worker-${lower(each.value.metric)}"
  alarm_description   = "cogvault: a worker execution (snapshot, restore or drill) of user pool ${local.pools[each.value.pool].user_pool_id} ended without success: see the state machine's execution history."
  namespace           = "AWS/States"
  metric_name         = each.value.metric
  dimensions          = { StateMachineArn = aws_sfn_state_machine.worker[each.value.pool].arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# Change events that failed every retry wait in the queue: replay them with
# `cogvault journal replay`.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.pools

  alarm_name          = "${each.value.name}-capture-dead-letters"
  alarm_description   = "cogvault: change events of user pool ${each.value.user_pool_id} failed capture and wait in ${aws_sqs_queue.capture_failures[each.key].name}: run cogvault journal replay."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.capture_failures[each.key].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}

# The drill reports DrillSuccess 1 or 0 per run; only with the drill
# schedule.
resource "aws_cloudwatch_metric_alarm" "drill" {
  for_each = { for k, p in local.pools : k => p if p.drill_schedule_expression != null }

  alarm_name          = "${each.value.name}-drill-failed"
  alarm_description   = "cogvault: the restore drill of user pool ${each.value.user_pool_id} failed (DrillSuccess < 1)."
  namespace           = "cogvault"
  metric_name         = "DrillSuccess"
  dimensions          = { PoolId = each.value.user_pool_id }
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
