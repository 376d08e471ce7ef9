package progress_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/progress"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestLogLinesReportCountersAndFinalState(t *testing.T) {
	var out syncBuf
	var done atomic.Int64
	stop := progress.Start(context.Background(), progress.Options{Out: &out, Interval: 20 * time.Millisecond},
		progress.Task{Name: "users", Done: done.Load, Total: func() int64 { return 200 }})
	done.Store(50)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "done=50") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done.Store(200)
	stop()
	stop() // idempotent
	s := out.String()
	for _, want := range []string{"msg=progress task=users done=50", "total=200", "percent=25.0", "msg=finished task=users done=200", "percent=100.0"} {
		if !strings.Contains(s, want) {
			t.Errorf("log output lacks %q:\n%s", want, s)
		}
	}
}

func TestBarsDrawOnTTY(t *testing.T) {
	var out syncBuf
	var done atomic.Int64
	done.Store(7)
	stop := progress.Start(context.Background(), progress.Options{Out: &out, TTY: true},
		progress.Task{Name: "groups", Done: done.Load})
	time.Sleep(300 * time.Millisecond)
	stop()
	if s := out.String(); !strings.Contains(s, "groups") || !strings.Contains(s, "7") {
		t.Fatalf("bar output lacks name or count:\n%q", s)
	}
}

func TestIsTerminalFalseForBuffers(t *testing.T) {
	if progress.IsTerminal(&bytes.Buffer{}) {
		t.Fatal("a buffer is not a terminal")
	}
}
