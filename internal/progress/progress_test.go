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

// A total of 0 means "not known yet": the bar shows a count, never "n / 0".
func TestUnknownTotalShowsACounter(t *testing.T) {
	var out syncBuf
	var done atomic.Int64
	done.Store(3071)
	stop := progress.Start(context.Background(), progress.Options{Out: &out, TTY: true},
		progress.Task{Name: "users", Done: done.Load, Total: func() int64 { return 0 }},
		progress.Task{Name: "groups", Done: done.Load, Total: func() int64 { return 5000 }})
	waitFor(t, &out, "3071 / 5000")
	stop()
	s := out.String()
	if strings.Contains(s, "/ 0") || !strings.Contains(s, "3071") {
		t.Fatalf("unknown total drawn as a ratio:\n%q", s)
	}
}

// An interrupted or failed run leaves its bars where they stood: the last
// frame says 50 / 200, not a full 50 / 50, and the log line says stopped.
func TestStoppedRunIsNotDrawnFull(t *testing.T) {
	for _, c := range []struct {
		name   string
		failed bool
	}{{"interrupted", false}, {"failed", true}} {
		t.Run(c.name, func(t *testing.T) {
			for _, tty := range []bool{true, false} {
				var out syncBuf
				var done atomic.Int64
				done.Store(50)
				ctx, cancel := context.WithCancel(context.Background())
				stop := progress.Start(ctx, progress.Options{Out: &out, TTY: tty, Interval: time.Hour, Failed: func() bool { return c.failed }},
					progress.Task{Name: "users", Done: done.Load, Total: func() int64 { return 200 }})
				if tty {
					waitFor(t, &out, "50 / 200")
				}
				if !c.failed {
					cancel()
				}
				stop()
				cancel()
				s := out.String()
				if tty && strings.Contains(s, "50 / 50") {
					t.Errorf("tty: drawn full before %s:\n%q", c.name, s)
				}
				if !tty && (!strings.Contains(s, "msg=stopped") || strings.Contains(s, "finished")) {
					t.Errorf("log: %s run says:\n%s", c.name, s)
				}
			}
		})
	}
	// A run that finished completes its bars.
	var out syncBuf
	stop := progress.Start(context.Background(), progress.Options{Out: &out, TTY: true},
		progress.Task{Name: "users", Done: func() int64 { return 50 }, Total: func() int64 { return 200 }})
	waitFor(t, &out, "50 / 200")
	stop()
	if !strings.Contains(out.String(), "50 / 50") {
		t.Errorf("a finished run's bar is not complete:\n%q", out.String())
	}
}

func waitFor(t *testing.T, out *syncBuf, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(out.String(), want) {
		t.Fatalf("never drew %q:\n%q", want, out.String())
	}
}
