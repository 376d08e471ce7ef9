package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/capture"
)

// replayOptions are the flags of `cogvault journal replay`.
type replayOptions struct {
	Pool  string
	Queue string // queue URL or name
	// VisibilityTimeout hides a received message from other readers while
	// it is replayed; one that fails shows again after it.
	VisibilityTimeout int32
}

// replayResult is what a replay did, message by message counted.
type replayResult struct {
	Queue    string `json:"queue"`
	PoolID   string `json:"pool_id"`
	Replayed int    `json:"replayed"`
	Failed   int    `json:"failed"`
	Skipped  int    `json:"skipped"`
}

// SQS's limits for one ReceiveMessage (the SQS API reference,
// ReceiveMessage): at most 10 messages, and a wait of up to 20 s. A wait
// makes it a long poll, which asks every SQS server, so an empty answer
// means an empty queue (short polls sample a subset of servers: the SQS
// developer guide, "Amazon SQS short and long polling").
const (
	replayBatch = 10
	replayWait  = 2
)

func newJournalReplayCommand(g *globalOptions) *cobra.Command {
	opts := replayOptions{VisibilityTimeout: 300}
	cmd := &cobra.Command{
		Use:   "replay --repo URL --queue URL|NAME [--pool POOL_ID]",
		Short: "Re-drive change events that failed capture from the dead-letter queue",
		Long: `When the capture function fails on a change event after Lambda's retries, Lambda
sends a record of the invocation to the on-failure destination, the SQS
queue the Terraform module creates (its output capture_failures_queue_url).
replay receives each record, runs the original event (requestPayload)
through the same capture code the Lambda runs, writing to the same
repository, and deletes the message only after the event was captured. A
message that fails stays in the queue and shows again after
--visibility-timeout; one that is not a Cognito change event of --pool is
left alone. Only message ids and event names are printed, never attribute
values.

EXIT STATUS
  0  every change event in the queue was captured (messages that are not
     change events of the pool are left and counted as skipped)
  1  an event could not be captured or its message deleted (it stays in the
     queue), or the queue or repository could not be read
  2  bad flags, or no --pool in a repository of several pools`,
		Example: `  cogvault journal replay --repo s3://my-backups/cognito --pool us-east-1_AbC123 \
    --queue https://sqs.us-east-1.amazonaws.com/123456789012/cogvault-capture-failures`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJournalReplay(cmd.Context(), g, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Pool, "pool", "", "the pool whose events to replay (default: the repository's only pool; needed when it holds several)")
	cmd.Flags().StringVar(&opts.Queue, "queue", "", "the dead-letter queue: its URL, or its name in the account and region")
	cmd.Flags().Int32Var(&opts.VisibilityTimeout, "visibility-timeout", opts.VisibilityTimeout, "seconds a received message stays hidden while it is replayed (0 to 43200)")
	return cmd
}

func runJournalReplay(ctx context.Context, g *globalOptions, opts replayOptions) error {
	if opts.Queue == "" {
		return usageError("journal replay: no --queue: pass the dead-letter queue's URL or name (the module's output capture_failures_queue_url)")
	}
	if opts.VisibilityTimeout < 0 || opts.VisibilityTimeout > 43200 {
		return usageError("--visibility-timeout %d: want 0 to 43200 seconds (SQS's range)", opts.VisibilityTimeout)
	}
	if err := g.usePoolRegion("--pool", opts.Pool); err != nil {
		return err
	}
	h, pool, err := replayHandler(ctx, g, opts.Pool)
	if err != nil {
		return err
	}
	other, err := g.otherConfig(ctx)
	if err != nil {
		return err
	}
	q := sqs.NewFromConfig(other)
	url, err := queueURL(ctx, q, opts.Queue)
	if err != nil {
		return err
	}
	res, err := replayQueue(ctx, q, h, url, pool, opts.VisibilityTimeout, g.stderr)
	if err != nil {
		return err
	}
	if g.json() {
		if err := printJSON(g.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, "%s: %d replayed, %d failed (left in the queue), %d skipped (not change events of %s, left in the queue)\n",
			res.Queue, res.Replayed, res.Failed, res.Skipped, res.PoolID)
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d event(s) could not be captured; they stay in %s: run replay again later", res.Failed, url)
	}
	return nil
}

// replayHandler builds the Lambda's capture handler over the repository
// (which must exist and be writable) and the pool's Cognito.
func replayHandler(ctx context.Context, g *globalOptions, poolFlag string) (*capture.Handler, string, error) {
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return nil, "", err
	}
	if err := r.CheckWritable(ctx); err != nil {
		return nil, "", err
	}
	pool, err := poolOf(ctx, r, poolFlag)
	if err != nil {
		return nil, "", err
	}
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return nil, "", err
	}
	h, err := capture.New(capture.Config{
		PoolID: pool, Region: cfg.Region, Repo: r, Cognito: cip.NewFromConfig(cfg),
		ToolVersion: Version(), Log: slog.New(slog.NewTextHandler(g.stderr, nil)),
	})
	return h, pool, err
}

func queueURL(ctx context.Context, q *sqs.Client, queue string) (string, error) {
	if strings.HasPrefix(queue, "https://") || strings.HasPrefix(queue, "http://") {
		return queue, nil
	}
	out, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &queue})
	var missing *sqstypes.QueueDoesNotExist
	if errors.As(err, &missing) {
		return "", usageError("--queue %s: no such queue in this account and region: pass the queue's URL or the right --region", queue)
	}
	if err != nil {
		return "", fmt.Errorf("find queue %s: %w", queue, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// invocationRecord is what Lambda sends an on-failure destination for an
// asynchronous invocation (the Lambda developer guide, "Capturing records
// of Lambda asynchronous invocations"): version, timestamp,
// requestContext {requestId, functionArn, condition, approximateInvokeCount},
// requestPayload (the original event), responseContext, responsePayload.
type invocationRecord struct {
	RequestContext struct {
		Condition string `json:"condition"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
}

// changeEvent holds what decides whether replay may run a payload: only
// CloudTrail records of Cognito calls, the events the capture function is
// invoked with asynchronously, of this pool or of none named.
type changeEvent struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		EventName           string            `json:"eventName"`
		RequestParameters   map[string]any    `json:"requestParameters"`
		AdditionalEventData map[string]any    `json:"additionalEventData"`
		Resources           []json.RawMessage `json:"resources"`
	} `json:"detail"`
}

// replayable returns the event to run and its name, or why not.
func replayable(body, pool string) (json.RawMessage, string, error) {
	var rec invocationRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil || len(rec.RequestPayload) == 0 {
		return nil, "", errors.New("not a Lambda invocation record (no requestPayload)")
	}
	var ev changeEvent
	if err := json.Unmarshal(rec.RequestPayload, &ev); err != nil {
		return nil, "", errors.New("requestPayload is not a JSON object")
	}
	if ev.Source != "aws.cognito-idp" || (ev.DetailType != "AWS API Call via CloudTrail" && ev.DetailType != "AWS Service Event via CloudTrail") {
		return nil, "", fmt.Errorf("not a Cognito change event (source %q, detail-type %q)", ev.Source, ev.DetailType)
	}
	for _, m := range []map[string]any{ev.Detail.RequestParameters, ev.Detail.AdditionalEventData} {
		if p, _ := m["userPoolId"].(string); p != "" && p != pool {
			return nil, "", fmt.Errorf("an event of pool %s", p)
		}
	}
	return rec.RequestPayload, ev.Detail.EventName, nil
}

// replayQueue receives the queue's messages until a long poll comes back
// empty, captures each change event and deletes its message after.
func replayQueue(ctx context.Context, q *sqs.Client, h *capture.Handler, url, pool string, vis int32, log interface{ Write([]byte) (int, error) }) (*replayResult, error) {
	res := &replayResult{Queue: url, PoolID: pool}
	seen := map[string]bool{}
	for {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &url, MaxNumberOfMessages: replayBatch, WaitTimeSeconds: replayWait, VisibilityTimeout: vis,
		})
		if err != nil {
			return res, fmt.Errorf("receive from %s: %w", url, err)
		}
		fresh := 0
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue // shown again within this run: its outcome is counted
			}
			seen[id], fresh = true, fresh+1
			replayMessage(ctx, q, h, url, pool, m, res, log)
		}
		if fresh == 0 {
			return res, nil
		}
	}
}

func replayMessage(ctx context.Context, q *sqs.Client, h *capture.Handler, url, pool string, m sqstypes.Message, res *replayResult, log interface{ Write([]byte) (int, error) }) {
	id := aws.ToString(m.MessageId)
	event, name, err := replayable(aws.ToString(m.Body), pool)
	if err != nil {
		res.Skipped++
		fmt.Fprintf(log, "cogvault: message %s skipped, left in the queue: %v\n", id, err)
		return
	}
	if _, err := h.Handle(ctx, event); err != nil {
		res.Failed++
		fmt.Fprintf(log, "cogvault: message %s (%s) not captured, left in the queue: %v\n", id, name, err)
		return
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		res.Failed++
		fmt.Fprintf(log, "cogvault: message %s (%s) captured, but not deleted (it will be replayed again, harmlessly): %v\n", id, name, err)
		return
	}
	res.Replayed++
	fmt.Fprintf(log, "cogvault: message %s (%s) captured and deleted\n", id, name)
}
