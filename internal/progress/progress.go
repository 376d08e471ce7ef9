// Package progress shows how a long operation advances: bars on a terminal
// (mpb), one structured log line per interval otherwise, so that CI logs and
// Lambda logs stay readable. It separates what happened from how it is shown,
// as restic's internal/ui does: core packages (backup, restore) keep atomic
// counters and know nothing of this package; the CLI hands their counters to
// Start as Tasks. Only internal/cli imports it.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Task is one counter to show. Done and Total are polled; Total may return 0
// when the total is not known yet (the bar then shows a count only).
type Task struct {
	Name  string
	Done  func() int64
	Total func() int64
}

// Options says where and how to show progress.
type Options struct {
	// Out receives bars or log lines (stderr in the CLI).
	Out io.Writer
	// TTY draws bars; otherwise one log line per task every Interval.
	TTY bool
	// Interval between log lines (default 10s). Bars refresh on their own.
	Interval time.Duration
	// Failed, asked once at stop, says the work failed. A failed or
	// interrupted run (ctx ended) leaves each bar where it stood, never
	// filled, and ends with "stopped" instead of "finished".
	Failed func() bool
}

// IsTerminal reports whether w is a character device, i.e. a terminal a
// person is watching.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Start shows the tasks until stop is called (or ctx ends). stop prints the
// final state once and waits for the display to finish.
func Start(ctx context.Context, opts Options, tasks ...Task) (stop func()) {
	if opts.Out == nil || len(tasks) == 0 {
		return func() {}
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	var stopped atomic.Bool // set before cancel: the run did not finish
	var wg sync.WaitGroup
	wg.Add(1)
	if opts.TTY {
		go func() { defer wg.Done(); runBars(ctx, opts, tasks, stopped.Load) }()
	} else {
		go func() { defer wg.Done(); runLines(ctx, opts, tasks, stopped.Load) }()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			stopped.Store(parent.Err() != nil || (opts.Failed != nil && opts.Failed()))
			cancel()
			wg.Wait()
		})
	}
}

func runLines(ctx context.Context, opts Options, tasks []Task, stopped func() bool) {
	log := slog.New(slog.NewTextHandler(opts.Out, nil))
	start := time.Now()
	emit := func(final bool) {
		secs := time.Since(start).Seconds()
		for _, t := range tasks {
			done := t.Done()
			attrs := []any{"task", t.Name, "done", done, "elapsed", time.Since(start).Round(time.Second).String()}
			if t.Total != nil {
				if total := t.Total(); total > 0 {
					attrs = append(attrs, "total", total, "percent", fmt.Sprintf("%.1f", 100*float64(done)/float64(total)))
				}
			}
			if secs > 0 {
				attrs = append(attrs, "per_second", fmt.Sprintf("%.1f", float64(done)/secs))
			}
			msg := "progress"
			switch {
			case final && stopped():
				msg = "stopped"
			case final:
				msg = "finished"
			}
			log.Info(msg, attrs...)
		}
	}
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			emit(true)
			return
		case <-tick.C:
			emit(false)
		}
	}
}

func runBars(ctx context.Context, opts Options, tasks []Task, stopped func() bool) {
	// WithAutoRefresh: the caller decided a person is watching; mpb then draws
	// even when Out is not a file (ForceTTY would need a real terminal size).
	p := mpb.New(mpb.WithOutput(opts.Out), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	bars := make([]*mpb.Bar, len(tasks))
	known := make([]atomic.Bool, len(tasks))
	for i, t := range tasks {
		bars[i] = p.New(0, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name(t.Name, decor.WC{W: 14, C: decor.DindentRight}), counter(&known[i])),
			mpb.AppendDecorators(decor.AverageSpeed(0, "%.0f/s")),
		)
	}
	update := func() {
		for i, t := range tasks {
			if t.Total != nil {
				if total := t.Total(); total > 0 {
					bars[i].SetTotal(total, false)
					known[i].Store(true)
				}
			}
			bars[i].SetCurrent(t.Done())
		}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			update()
			for _, b := range bars {
				if stopped() {
					b.Abort(false) // drawn where it stood: not full
				} else {
					b.SetTotal(-1, true) // complete at the current count
				}
			}
			p.Wait()
			return
		case <-tick.C:
			update()
		}
	}
}

// counter shows "done / total" once the total is known and only "done"
// before: a total of 0 means unknown, not zero.
func counter(known *atomic.Bool) decor.Decorator {
	return decor.Any(func(s decor.Statistics) string {
		if known.Load() {
			return fmt.Sprintf("%d / %d", s.Current, s.Total)
		}
		return fmt.Sprintf("%d", s.Current)
	})
}
