package snapshot

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy says which snapshots to keep. A zero field keeps nothing by that
// rule; a Policy with every field zero is an error at Apply (it would forget
// everything).
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every snapshot taken within this duration of the newest
	// snapshot in the group. As in restic the bound is exclusive: a snapshot
	// exactly Within older than the newest is not kept by this rule.
	Within time.Duration
}

// rules lists the counted rules in the order they are applied and reported,
// which is restic's order.
func (p Policy) rules() []rule {
	return []rule{
		{"last", p.Last, "last snapshot", nil},
		{"hourly", p.Hourly, "hourly snapshot", hourBucket},
		{"daily", p.Daily, "daily snapshot", dayBucket},
		{"weekly", p.Weekly, "weekly snapshot", weekBucket},
		{"monthly", p.Monthly, "monthly snapshot", monthBucket},
		{"yearly", p.Yearly, "yearly snapshot", yearBucket},
	}
}

type rule struct {
	name   string
	count  int
	reason string
	// bucket maps a UTC time to its bucket; nil means every snapshot is its
	// own bucket (keep-last).
	bucket func(time.Time) int
}

func hourBucket(t time.Time) int {
	return t.Year()*1_000_000 + int(t.Month())*10_000 + t.Day()*100 + t.Hour()
}
func dayBucket(t time.Time) int   { return t.Year()*10_000 + int(t.Month())*100 + t.Day() }
func monthBucket(t time.Time) int { return t.Year()*100 + int(t.Month()) }
func yearBucket(t time.Time) int  { return t.Year() }

// weekBucket uses the ISO week, whose year may differ from the calendar year
// around New Year, so that a week spanning the boundary is one bucket.
func weekBucket(t time.Time) int {
	y, w := t.ISOWeek()
	return y*100 + w
}

// Empty reports whether the policy keeps nothing.
func (p Policy) Empty() bool {
	for _, r := range p.rules() {
		if r.count > 0 {
			return false
		}
	}
	return p.Within <= 0
}

// String describes the policy for messages, e.g. "last 3, daily 7, weekly 4".
func (p Policy) String() string {
	var parts []string
	for _, r := range p.rules() {
		if r.count != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r.name, r.count))
		}
	}
	if p.Within != 0 {
		parts = append(parts, "within "+p.Within.String())
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// validate rejects policies Apply cannot honour, naming every problem.
func (p Policy) validate() error {
	var errs []error
	for _, r := range p.rules() {
		if r.count < 0 {
			errs = append(errs, fmt.Errorf("retention policy: keep-%s is %d; it must not be negative", r.name, r.count))
		}
	}
	if p.Within < 0 {
		errs = append(errs, fmt.Errorf("retention policy: keep-within is %s; it must not be negative", p.Within))
	}
	if len(errs) == 0 && p.Empty() {
		errs = append(errs, errors.New("retention policy keeps nothing; give at least one of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly or keep-within"))
	}
	return errors.Join(errs...)
}

// Decision is what Apply decided for one snapshot.
type Decision struct {
	Manifest *Manifest
	Keep     bool
	Reasons  []string // why it is kept, e.g. "last snapshot", "daily snapshot", "within 24h0m0s"; empty when forgotten
}

// reasonNewest is given to the newest snapshot of a pool, which Apply always
// keeps, whatever else keeps it.
const reasonNewest = "newest of pool"

// Apply decides, separately for each pool (Manifest.PoolID), which snapshots
// the policy keeps. Buckets (day, ISO week, month, year, hour) are computed in
// UTC from Manifest.Start. Within each pool, snapshots are considered newest
// first; for each rule with count n>0, a snapshot is kept if its bucket
// differs from the bucket of the previous snapshot the rule kept, until n
// buckets are used (restic semantics: the newest snapshot of each bucket is
// kept). Last keeps the n newest. The newest snapshot of every pool is ALWAYS
// kept (reason "newest of pool") so forget can never leave a pool with no
// snapshot. Result is sorted by pool id, then snapshot id (oldest first).
// Returns an error naming the problem when the policy is empty or a count is
// negative, or when ms holds a nil manifest or the same snapshot id twice.
func Apply(ms []*Manifest, p Policy) ([]Decision, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	pools := map[string][]*Manifest{}
	seen := map[string]bool{}
	for i, m := range ms {
		if m == nil {
			return nil, fmt.Errorf("retention: manifest %d is nil", i)
		}
		// Ids are repository keys, so a duplicate is a caller bug; deciding
		// anyway would depend on input order.
		if seen[m.ID] {
			return nil, fmt.Errorf("retention: snapshot %s is listed twice", m.ID)
		}
		seen[m.ID] = true
		pools[m.PoolID] = append(pools[m.PoolID], m)
	}

	out := make([]Decision, 0, len(ms))
	for _, group := range pools {
		out = append(out, applyPool(group, p)...)
	}
	slices.SortFunc(out, func(a, b Decision) int {
		if c := strings.Compare(a.Manifest.PoolID, b.Manifest.PoolID); c != 0 {
			return c
		}
		return strings.Compare(a.Manifest.ID, b.Manifest.ID)
	})
	return out, nil
}

// applyPool decides for the snapshots of one pool; group is reordered.
func applyPool(group []*Manifest, p Policy) []Decision {
	// Newest first by start time; the id breaks ties so the order, and so the
	// result, does not depend on the input order.
	slices.SortFunc(group, func(a, b *Manifest) int {
		if c := b.Start.Compare(a.Start); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	type state struct {
		rule
		left int
		last int
		used bool // whether last holds a bucket yet
	}
	var rules []*state
	for _, r := range p.rules() {
		if r.count > 0 {
			rules = append(rules, &state{rule: r, left: r.count})
		}
	}
	newest := group[0].Start
	out := make([]Decision, len(group))
	for i, m := range group {
		var reasons []string
		if p.Within > 0 && m.Start.After(newest.Add(-p.Within)) {
			reasons = append(reasons, "within "+p.Within.String())
		}
		t := m.Start.UTC()
		for _, r := range rules {
			if r.left == 0 {
				continue
			}
			b := i // keep-last: every snapshot is a bucket of its own
			if r.bucket != nil {
				b = r.bucket(t)
			}
			if r.used && b == r.last {
				continue
			}
			r.last, r.used = b, true
			r.left--
			reasons = append(reasons, r.reason)
		}
		if i == 0 {
			reasons = append(reasons, reasonNewest)
		}
		out[i] = Decision{Manifest: m, Keep: len(reasons) > 0, Reasons: reasons}
	}
	return out
}
