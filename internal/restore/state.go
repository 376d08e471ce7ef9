package restore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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
	fail := func(err error) (*state, error) { f.Close(); return nil, err }
	br := bufio.NewReaderSize(f, 64<<10)
	var good int64 // end of the last whole record
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(b) > 0 {
				// A killed run tore its last write: cut it off, or the next
				// record would be appended to the fragment.
				if err := f.Truncate(good); err != nil {
					return fail(fmt.Errorf("restore state %s: cut off a torn last line: %w", path, err))
				}
			}
			break
		}
		if err != nil {
			return fail(fmt.Errorf("read restore state %s: %w", path, err))
		}
		var r stateRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fail(fmt.Errorf("restore state %s: line %d is not a state record; it is not a file this restore wrote (give another --state-file)", path, line))
		}
		st.apply(r)
		good += int64(len(b))
	}
	st.f = f
	return st, nil
}

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
