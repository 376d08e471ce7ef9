# Failed asynchronous invocations of the capture function (EventBridge
# CloudTrail events; Cognito calls the PostConfirmation trigger
# synchronously) end in this queue after Lambda's retries, as invocation
# records {"requestContext", "requestPayload", "responseContext", ...} (the
# Lambda developer guide, "Capturing records of Lambda asynchronous
# invocations"). `cogvault journal replay` re-drives them. A standard queue:
# Lambda cannot deliver to FIFO queues (same page).
resource "aws_sqs_queue" "capture_failures" {
  for_each = local.pools

  name = "${each.value.name}-capture-failures"
  # The SQS maximum, 14 days: time to notice the alarm and replay.
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# Two retries (Lambda's default and maximum) over at most 6 hours (the
# maximum event age), then the record goes to the queue.
resource "aws_lambda_function_event_invoke_config" "capture" {
  for_each = local.pools

  function_name                = aws_lambda_function.capture[each.key].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.capture_failures[each.key].arn
    }
  }
}
