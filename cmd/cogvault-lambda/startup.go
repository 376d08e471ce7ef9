package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cogvault/cogvault/internal/capture"
)

// Start-up budgets. Cognito waits 5 s for a PostConfirmation trigger, then
// retries and fails the user's call (docs/cognito-facts.md, DESIGN.md); the
// handler's own trigger path takes up to 3 s (capture.Config.TriggerBudget),
// so the repository and config reads of a cold start get 1.5 s when a
// trigger is waiting. Other events (change events, worker steps) are not
// waited on by a user and get longer.
const (
	triggerStartupBudget = 1500 * time.Millisecond
	otherStartupBudget   = 10 * time.Second
)

// lazyHandler builds the handler on first use and keeps it; a start-up that
// fails (a slow S3, a throttled KMS, a repository not yet initialised) is
// tried again on the next invocation instead of leaving the environment
// broken for its lifetime. Each failure counts in CaptureFailures.
type lazyHandler struct {
	build   func(context.Context) (*capture.Handler, error)
	log     *slog.Logger
	metrics io.Writer // CloudWatch embedded metric format lines (stdout on Lambda)
	poolID  string
	budgets [2]time.Duration // trigger, other

	mu sync.Mutex
	h  *capture.Handler
}

func newLazyHandler(build func(context.Context) (*capture.Handler, error), log *slog.Logger, metrics io.Writer) *lazyHandler {
	pool := strings.TrimSpace(os.Getenv("COGVAULT_POOL_ID"))
	if pool == "" {
		pool = strings.TrimSpace(os.Getenv("COGNITO_USER_POOL_ID"))
	}
	return &lazyHandler{build: build, log: log, metrics: metrics, poolID: pool,
		budgets: [2]time.Duration{triggerStartupBudget, otherStartupBudget}}
}

// Handle is the Lambda entry point.
func (l *lazyHandler) Handle(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
	trigger := isTrigger(ev)
	h, err := l.handler(ctx, trigger)
	if err == nil {
		return h.Handle(ctx, ev)
	}
	l.log.Error("cogvault start-up failed; retried on the next invocation", "error", err.Error(), "trigger", trigger)
	l.countFailure()
	if trigger {
		// Never block a sign-up: the scheduled snapshot heals the journal.
		return ev, nil
	}
	return nil, err
}

// handler returns the built handler, building it under the start-up
// budget when there is none yet.
func (l *lazyHandler) handler(ctx context.Context, trigger bool) (*capture.Handler, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h != nil {
		return l.h, nil
	}
	budget := l.budgets[1]
	if trigger {
		budget = l.budgets[0]
	}
	sctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	h, err := l.build(sctx)
	if err != nil {
		return nil, fmt.Errorf("cogvault start-up (repository and configuration, within %s): %w", budget, err)
	}
	l.h = h
	return h, nil
}

func isTrigger(ev json.RawMessage) bool {
	var s struct {
		TriggerSource string `json:"triggerSource"`
	}
	return json.Unmarshal(ev, &s) == nil && s.TriggerSource != ""
}

// countFailure writes CaptureFailures = 1 as an embedded-metric-format line,
// the shape internal/capture writes (namespace cogvault, dimension PoolId).
func (l *lazyHandler) countFailure() {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  "cogvault",
				"Dimensions": [][]string{{"PoolId"}},
				"Metrics":    []any{map[string]string{"Name": "CaptureFailures", "Unit": "Count"}},
			}},
		},
		"PoolId":          l.poolID,
		"CaptureFailures": 1,
	}
	b, _ := json.Marshal(line)
	fmt.Fprintf(l.metrics, "%s\n", b)
}
