package restore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// stateRecord is one line of the state file.
type stateRecord struct {
	Event    string `json:"e"` // "intent", "created", "done"
	Username string `json:"u"`
	OldSub   string `json:"old,omitempty"`
	NewSub   string `json:"new,omitempty"`
}

// state is the restore's memory across runs: which users it set out to
// create, which it created (with their new sub) and which it finished. It is
// an append-only JSON Lines file, written with one write per record, so a
// killed process loses at most the record it was writing.
type state struct {
	mu      sync.Mutex
	f       *os.File
	intent  map[string]bool
	created map[string]stateRecord
	done    map[string]bool
}

func openState(path string) (*state, error) {
	st := &state{intent: map[string]bool{}, created: map[string]stateRecord{}, done: map[string]bool{}}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open restore state %s: %w", path, err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		var r stateRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			// A torn last line from a killed run is expected; anything
			// else means the file is not ours.
			if !isLastLine(sc) {
				f.Close()
				return nil, fmt.Errorf("restore state %s: line %d is not a state record; move the file away to start over", path, line)
			}
			break
		}
		st.apply(r)
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("read restore state %s: %w", path, err)
	}
	st.f = f
	return st, nil
}

func isLastLine(sc *bufio.Scanner) bool { return !sc.Scan() }

func (s *state) apply(r stateRecord) {
	switch r.Event {
	case "intent":
		s.intent[r.Username] = true
	case "created":
		s.created[r.Username] = r
	case "done":
		s.done[r.Username] = true
	}
}

func (s *state) record(r stateRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write restore state: %w", err)
	}
	s.apply(r)
	return nil
}

func (s *state) isDone(u string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[u]
}

// ours reports whether this restore (this or an earlier run) set out to
// create the user.
func (s *state) ours(u string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intent[u]
}

func (s *state) createdRecord(u string) (stateRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.created[u]
	return r, ok
}

func (s *state) mappings() []stateRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stateRecord, 0, len(s.created))
	for _, r := range s.created {
		out = append(out, r)
	}
	return out
}

func (s *state) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
