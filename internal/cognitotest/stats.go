package cognitotest

import (
	"sort"
	"sync"
)

// OpStats counts what happened to the calls of one operation.
type OpStats struct {
	Calls     int64 // every request that named the operation
	Throttles int64 // answered TooManyRequestsException (quota or injected)
	Errors    int64 // answered with any other error, or reset
}

// Succeeded is the number of calls answered with a result.
func (o OpStats) Succeeded() int64 { return o.Calls - o.Throttles - o.Errors }

type stats struct {
	mu  sync.Mutex
	ops map[string]*OpStats
}

func (st *stats) get(op string) *OpStats {
	if st.ops == nil {
		st.ops = map[string]*OpStats{}
	}
	o := st.ops[op]
	if o == nil {
		o = &OpStats{}
		st.ops[op] = o
	}
	return o
}

func (st *stats) call(op string)     { st.mu.Lock(); st.get(op).Calls++; st.mu.Unlock() }
func (st *stats) throttle(op string) { st.mu.Lock(); st.get(op).Throttles++; st.mu.Unlock() }
func (st *stats) fail(op string)     { st.mu.Lock(); st.get(op).Errors++; st.mu.Unlock() }

// Stats returns a copy of the per-operation counters.
func (s *Service) Stats() map[string]OpStats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := make(map[string]OpStats, len(s.stats.ops))
	for op, o := range s.stats.ops {
		out[op] = *o
	}
	return out
}

// OpStats returns the counters of one operation.
func (s *Service) OpStats(op string) OpStats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	if o := s.stats.ops[op]; o != nil {
		return *o
	}
	return OpStats{}
}

// ResetStats zeroes every counter.
func (s *Service) ResetStats() {
	s.stats.mu.Lock()
	s.stats.ops = nil
	s.stats.mu.Unlock()
}

// Operations lists the operations the fake implements, sorted.
func Operations() []string {
	ops := make([]string, 0, len(handlers))
	for op := range handlers {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}
