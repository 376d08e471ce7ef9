package awsx

import (
	"context"
	"sync/atomic"

	"github.com/aws/smithy-go/middleware"
)

// Attempts counts the attempts the SDK makes for one call, retries
// included. A create-once write that is retried after its answer was lost
// meets its own first attempt's work as "already exists"; the count tells
// the caller that this can be so.
type Attempts struct{ n atomic.Int32 }

// Middleware goes in a call's APIOptions; it sits after the retry step, so
// it sees every attempt.
func (a *Attempts) Middleware(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("cogvault.attempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			a.n.Add(1)
			return next.HandleFinalize(ctx, in)
		}), "Retry", middleware.After)
}

// Retried reports whether the call was sent more than once.
func (a *Attempts) Retried() bool { return a.n.Load() > 1 }
