package cognitotest

import (
	"sync"
	"time"
)

// FaultKind says what an injected fault does to a call.
type FaultKind int

const (
	// FaultLatency delays the call by Fault.Latency, then serves it normally.
	FaultLatency FaultKind = iota
	// FaultThrottle answers TooManyRequestsException (HTTP 400), as Cognito
	// does when a quota category is exhausted.
	FaultThrottle
	// FaultServerError answers InternalErrorException (HTTP 500).
	FaultServerError
	// FaultReset closes the connection without an answer.
	FaultReset
	// FaultError answers the exception named by Fault.Code (HTTP 400).
	FaultError
	// FaultDrop answers success (HTTP 200, an empty JSON object) without
	// serving the call: a lost write. A test tool, not a Cognito behaviour:
	// it lets tests show that a check notices what a caller believed done.
	FaultDrop
)

func (k FaultKind) String() string {
	switch k {
	case FaultLatency:
		return "latency"
	case FaultThrottle:
		return "throttle"
	case FaultServerError:
		return "server-error"
	case FaultReset:
		return "reset"
	case FaultError:
		return "error"
	case FaultDrop:
		return "drop"
	}
	return "unknown"
}

// Fault is a misbehaviour injected into the calls of one operation (or all).
type Fault struct {
	// Operation limits the fault to one API operation; "" matches every one.
	Operation string
	Kind      FaultKind
	// Count is how many matching calls the fault affects; 0 means every
	// matching call until removed.
	Count int
	// Every makes the fault hit only every n-th matching call (0 or 1: all).
	Every int
	// After lets this many matching calls through before the fault starts.
	After int
	// Latency is added before the call is answered (any kind).
	Latency time.Duration
	// Code is the exception FaultError answers, e.g. "LimitExceededException".
	Code string
}

type activeFault struct {
	Fault
	seen, hit int
}

type faults struct {
	mu   sync.Mutex
	list []*activeFault
}

// InjectFault makes matching calls misbehave. The returned func removes the
// fault; a fault with a Count also retires itself once spent.
func (s *Service) InjectFault(f Fault) (remove func()) {
	a := &activeFault{Fault: f}
	s.faults.mu.Lock()
	s.faults.list = append(s.faults.list, a)
	s.faults.mu.Unlock()
	return func() {
		s.faults.mu.Lock()
		defer s.faults.mu.Unlock()
		for i, x := range s.faults.list {
			if x == a {
				s.faults.list = append(s.faults.list[:i], s.faults.list[i+1:]...)
				return
			}
		}
	}
}

// ClearFaults removes every injected fault.
func (s *Service) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.list = nil
	s.faults.mu.Unlock()
}

// take returns the fault to apply to this call of op, if any.
func (f *faults) take(op string) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, a := range f.list {
		if a.Operation != "" && a.Operation != op {
			continue
		}
		a.seen++
		if a.seen <= a.After {
			continue
		}
		if a.Every > 1 && (a.seen-a.After)%a.Every != 0 {
			continue
		}
		a.hit++
		if a.Count > 0 && a.hit >= a.Count {
			f.list = append(f.list[:i], f.list[i+1:]...)
		}
		out := a.Fault
		return &out
	}
	return nil
}
