package restore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// A restore whose state lives in the repository runs one run at a time:
// Step Functions retries a step on Lambda service errors while the first
// invocation may still run (Step Functions developer guide, "Handle Lambda
// service exceptions"; facts §32), and a laptop's --state-in-repo run may
// start beside a Lambda step. Two runs from the same state would each
// store a segment of their own records, and the records of the users one
// created would be missing from what the other and every later run read.
//
// The lease is a series of create-once objects lease-000001, lease-000002,
// … beside the state, each naming its holder and the time it holds the
// restore until. Taking lease n+1 needs lease n free (released) or past its
// time by LeaseGrace; the create-once put decides between two takers. No
// lease object is ever deleted while the restore lives, so a number once
// taken cannot be taken again. A holder renews by taking the next number
// itself, and stops writing when it cannot.

// LeaseGrace is how long after a holder's time a taker waits: for a write
// the holder sent just before its time to land, and for clocks that differ
// a little (Lambda's are kept by Amazon Time Sync; a laptop's by NTP).
const LeaseGrace = 10 * time.Second

// ErrLeaseBusy says another run of the restore holds its lease.
var ErrLeaseBusy = errors.New("another run of this restore holds its lease")

// ErrLeaseLost says a holder could not renew its lease in time, or another
// run took it: the holder must stop writing.
var ErrLeaseLost = errors.New("the restore's lease was lost")

// BusyError is ErrLeaseBusy with the time the lease may be taken at.
type BusyError struct{ Until time.Time }

func (e *BusyError) Error() string {
	return fmt.Sprintf("%v until %s", ErrLeaseBusy, e.Until.UTC().Format(time.RFC3339))
}

func (e *BusyError) Unwrap() error { return ErrLeaseBusy }

// leaseRecord is one lease object.
type leaseRecord struct {
	Holder string    `json:"holder"`
	Until  time.Time `json:"until"`
	Free   bool      `json:"free,omitempty"`
}

// Lease is a held lease of one restore.
type Lease struct {
	rp     *repo.Repo
	prefix string
	holder string
	n      int
	until  time.Time
}

// Until is the time the lease is held until.
func (l *Lease) Until() time.Time { return l.until }

// AcquireLease takes the lease of the restore of snapshotID into target
// until the given time, or answers a *BusyError.
func AcquireLease(ctx context.Context, rp *repo.Repo, target, snapshotID string, until time.Time) (*Lease, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	l := &Lease{rp: rp, prefix: StateCheckpoint(target, snapshotID), holder: hex.EncodeToString(b[:])}
	n, err := l.newest(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		cur, err := l.read(ctx, n)
		if err != nil {
			return nil, err
		}
		if free := cur.Until.Add(LeaseGrace); !cur.Free && time.Now().Before(free) {
			return nil, &BusyError{Until: free}
		}
	}
	l.n = n
	if err := l.take(ctx, leaseRecord{Holder: l.holder, Until: until}); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			return nil, &BusyError{Until: time.Now()} // another taker won: look again
		}
		return nil, err
	}
	return l, nil
}

// WaitLease is AcquireLease tried again, every poll, until it holds the
// lease or giveUp comes (then the last *BusyError). waited says it found
// the lease held at least once.
func WaitLease(ctx context.Context, rp *repo.Repo, target, snapshotID string, until, giveUp time.Time, poll time.Duration) (l *Lease, waited bool, err error) {
	for {
		l, err := AcquireLease(ctx, rp, target, snapshotID, until)
		var busy *BusyError
		if !errors.As(err, &busy) {
			return l, waited, err
		}
		waited = true
		wait := min(poll, time.Until(busy.Until))
		if !time.Now().Add(wait).Before(giveUp) {
			return nil, waited, err
		}
		select {
		case <-ctx.Done():
			return nil, waited, ctx.Err()
		case <-time.After(max(wait, 10*time.Millisecond)):
		}
	}
}

// Renew holds the lease until a later time; ErrLeaseLost when another run
// took it meanwhile (the holder was late).
func (l *Lease) Renew(ctx context.Context, until time.Time) error {
	if err := l.take(ctx, leaseRecord{Holder: l.holder, Until: until}); err != nil {
		return err
	}
	l.until = until
	return nil
}

// Release frees the lease for the next run at once. A lease another run
// took meanwhile is not this one's to free: nothing to do.
func (l *Lease) Release(ctx context.Context) error {
	err := l.take(ctx, leaseRecord{Holder: l.holder, Until: time.Now(), Free: true})
	if errors.Is(err, ErrLeaseLost) {
		return nil
	}
	return err
}

// take stores rec as lease n+1, create-once.
func (l *Lease) take(ctx context.Context, rec leaseRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	err = l.rp.PutCheckpoint(ctx, fmt.Sprintf("%slease-%06d", l.prefix, l.n+1), bytes.NewReader(b))
	switch {
	case errors.Is(err, storage.ErrExist):
		return fmt.Errorf("restore lease %d: %w", l.n+1, ErrLeaseLost)
	case err != nil:
		return fmt.Errorf("restore lease: %w", err)
	}
	l.n++
	l.until = rec.Until
	return nil
}

// newest is the number of the newest lease object (0: none).
func (l *Lease) newest(ctx context.Context) (int, error) {
	names, err := l.rp.Checkpoints(ctx, l.prefix+"lease-")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		var k int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, l.prefix), "lease-%06d", &k); err == nil {
			n = max(n, k)
		}
	}
	return n, nil
}

func (l *Lease) read(ctx context.Context, n int) (leaseRecord, error) {
	var rec leaseRecord
	rc, err := l.rp.GetCheckpoint(ctx, fmt.Sprintf("%slease-%06d", l.prefix, n))
	if err != nil {
		return rec, fmt.Errorf("restore lease: %w", err)
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(&rec); err != nil {
		return rec, fmt.Errorf("restore lease %d: %w", n, err)
	}
	return rec, nil
}

// Keep renews the lease every ttl/4, ttl ahead, while the returned context
// lives, for a holder with no deadline of its own (the CLI). The context is
// cancelled with cause ErrLeaseLost when another run took the lease, or
// when no renewal succeeded by ttl/4 before the lease's time: the holder
// then stops writing before a taker may begin. stop ends the renewals (and
// waits for them), before Release.
func (l *Lease) Keep(ctx context.Context, ttl time.Duration) (kept context.Context, stop func()) {
	kept, cancel := context.WithCancelCause(ctx)
	quit, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(ttl / 4)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-kept.Done():
				return
			case <-tick.C:
			}
			if err := l.renewOnce(kept, ttl); err != nil {
				cancel(err)
				return
			}
		}
	}()
	return kept, func() { close(quit); <-ended; cancel(nil) }
}

// renewOnce renews the lease ttl ahead; an error only when the holder must
// stop: the lease was taken, or it is too close to its time to go on.
func (l *Lease) renewOnce(ctx context.Context, ttl time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, ttl/4)
	defer cancel()
	err := l.Renew(rctx, time.Now().Add(ttl))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrLeaseLost):
		return err
	case time.Now().After(l.until.Add(-ttl / 4)):
		return fmt.Errorf("%w: could not renew it in time: %v", ErrLeaseLost, err)
	}
	return nil // try again at the next tick
}
