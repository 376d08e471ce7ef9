package snapshot_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// idSource feeds NewID a counter, so ids are unique even for snapshots
// started in the same millisecond, and tests are reproducible.
type idSource struct{ n uint32 }

func (s *idSource) Read(p []byte) (int, error) {
	var b [4]byte
	s.n++
	binary.BigEndian.PutUint32(b[:], s.n)
	return copy(p, b[:]), nil
}

// fataler is what the helpers need of testing.TB and *rapid.T alike.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func newManifest(t fataler, src *idSource, pool string, start time.Time) *snapshot.Manifest {
	t.Helper()
	id, err := snapshot.NewID(start, src)
	if err != nil {
		t.Fatal(err)
	}
	return &snapshot.Manifest{
		FormatVersion: snapshot.FormatVersion,
		ID:            id,
		PoolID:        pool,
		Start:         start,
		End:           start.Add(time.Minute),
	}
}

// series returns n snapshots of pool, the first at first, one every step.
func series(t fataler, src *idSource, pool string, first time.Time, step time.Duration, n int) []*snapshot.Manifest {
	out := make([]*snapshot.Manifest, n)
	for i := range out {
		out[i] = newManifest(t, src, pool, first.Add(time.Duration(i)*step))
	}
	return out
}

const (
	poolA = "eu-west-1_a"
	poolB = "us-east-1_b"
	poolC = "ap-south-1_c"
)

// sixHourly is one snapshot every 6 hours for 60 days in two pools: pool A
// at 00, 06, 12, 18 from 2026-03-01 to 2026-04-29T18:00, pool B three hours
// later (newest 2026-04-29T21:00).
func sixHourly(t testing.TB, src *idSource) []*snapshot.Manifest {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	a := series(t, src, poolA, start, 6*time.Hour, 60*4)
	b := series(t, src, poolB, start.Add(3*time.Hour), 6*time.Hour, 60*4)
	return append(a, b...)
}

// kept summarises a kept decision for comparison with hand-computed tables.
type kept struct {
	Pool    string
	Start   string // UTC, minute precision
	Reasons []string
}

func keptOf(ds []snapshot.Decision) []kept {
	var out []kept
	for _, d := range ds {
		if d.Keep {
			out = append(out, kept{d.Manifest.PoolID, d.Manifest.Start.UTC().Format("2006-01-02T15:04"), d.Reasons})
		}
	}
	return out
}

const (
	rLast    = "last snapshot"
	rHourly  = "hourly snapshot"
	rDaily   = "daily snapshot"
	rWeekly  = "weekly snapshot"
	rMonthly = "monthly snapshot"
	rYearly  = "yearly snapshot"
	rNewest  = "newest of pool"
)

func TestApplyRetentionTable(t *testing.T) {
	tests := []struct {
		name   string
		series func(testing.TB, *idSource) []*snapshot.Manifest
		policy snapshot.Policy
		want   []kept
	}{
		{
			name:   "daily 7 keeps the newest of each of the last 7 days",
			series: sixHourly,
			policy: snapshot.Policy{Daily: 7},
			want: []kept{
				{poolA, "2026-04-23T18:00", []string{rDaily}},
				{poolA, "2026-04-24T18:00", []string{rDaily}},
				{poolA, "2026-04-25T18:00", []string{rDaily}},
				{poolA, "2026-04-26T18:00", []string{rDaily}},
				{poolA, "2026-04-27T18:00", []string{rDaily}},
				{poolA, "2026-04-28T18:00", []string{rDaily}},
				{poolA, "2026-04-29T18:00", []string{rDaily, rNewest}},
				{poolB, "2026-04-23T21:00", []string{rDaily}},
				{poolB, "2026-04-24T21:00", []string{rDaily}},
				{poolB, "2026-04-25T21:00", []string{rDaily}},
				{poolB, "2026-04-26T21:00", []string{rDaily}},
				{poolB, "2026-04-27T21:00", []string{rDaily}},
				{poolB, "2026-04-28T21:00", []string{rDaily}},
				{poolB, "2026-04-29T21:00", []string{rDaily, rNewest}},
			},
		},
		{
			name:   "last and daily overlap give both reasons",
			series: sixHourly,
			policy: snapshot.Policy{Last: 2, Daily: 3},
			want: []kept{
				{poolA, "2026-04-27T18:00", []string{rDaily}},
				{poolA, "2026-04-28T18:00", []string{rDaily}},
				{poolA, "2026-04-29T12:00", []string{rLast}},
				{poolA, "2026-04-29T18:00", []string{rLast, rDaily, rNewest}},
				{poolB, "2026-04-27T21:00", []string{rDaily}},
				{poolB, "2026-04-28T21:00", []string{rDaily}},
				{poolB, "2026-04-29T15:00", []string{rLast}},
				{poolB, "2026-04-29T21:00", []string{rLast, rDaily, rNewest}},
			},
		},
		{
			name:   "hourly on a six-hourly series keeps the newest n",
			series: sixHourly,
			policy: snapshot.Policy{Hourly: 3},
			want: []kept{
				{poolA, "2026-04-29T06:00", []string{rHourly}},
				{poolA, "2026-04-29T12:00", []string{rHourly}},
				{poolA, "2026-04-29T18:00", []string{rHourly, rNewest}},
				{poolB, "2026-04-29T09:00", []string{rHourly}},
				{poolB, "2026-04-29T15:00", []string{rHourly}},
				{poolB, "2026-04-29T21:00", []string{rHourly, rNewest}},
			},
		},
		{
			name: "hourly keeps the newest of each hour",
			series: func(t testing.TB, src *idSource) []*snapshot.Manifest {
				return series(t, src, poolA, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 20*time.Minute, 9)
			},
			policy: snapshot.Policy{Hourly: 2},
			want: []kept{
				{poolA, "2026-05-01T01:40", []string{rHourly}},
				{poolA, "2026-05-01T02:40", []string{rHourly, rNewest}},
			},
		},
		{
			name:   "monthly 3 with only two months of history keeps two",
			series: sixHourly,
			policy: snapshot.Policy{Monthly: 3},
			want: []kept{
				{poolA, "2026-03-31T18:00", []string{rMonthly}},
				{poolA, "2026-04-29T18:00", []string{rMonthly, rNewest}},
				{poolB, "2026-03-31T21:00", []string{rMonthly}},
				{poolB, "2026-04-29T21:00", []string{rMonthly, rNewest}},
			},
		},
		{
			// 2026-01-01 is a Thursday, so ISO week 2026-W01 runs from
			// Monday 2025-12-29 to Sunday 2026-01-04: its newest snapshot is
			// Jan 4, and Dec 31 is not a week of its own. The year rule uses
			// calendar years, so it does keep Dec 31.
			name: "weekly across a year boundary uses ISO weeks",
			series: func(t testing.TB, src *idSource) []*snapshot.Manifest {
				return series(t, src, poolA, time.Date(2025, 12, 15, 12, 0, 0, 0, time.UTC), 24*time.Hour, 27)
			},
			policy: snapshot.Policy{Weekly: 3, Yearly: 2},
			want: []kept{
				{poolA, "2025-12-28T12:00", []string{rWeekly}},
				{poolA, "2025-12-31T12:00", []string{rYearly}},
				{poolA, "2026-01-04T12:00", []string{rWeekly}},
				{poolA, "2026-01-10T12:00", []string{rWeekly, rYearly, rNewest}},
			},
		},
		{
			// Exactly 24h before the newest is outside, as in restic.
			name:   "within is relative to each pool's newest and exclusive",
			series: sixHourly,
			policy: snapshot.Policy{Within: 24 * time.Hour},
			want: []kept{
				{poolA, "2026-04-29T00:00", []string{"within 24h0m0s"}},
				{poolA, "2026-04-29T06:00", []string{"within 24h0m0s"}},
				{poolA, "2026-04-29T12:00", []string{"within 24h0m0s"}},
				{poolA, "2026-04-29T18:00", []string{"within 24h0m0s", rNewest}},
				{poolB, "2026-04-29T03:00", []string{"within 24h0m0s"}},
				{poolB, "2026-04-29T09:00", []string{"within 24h0m0s"}},
				{poolB, "2026-04-29T15:00", []string{"within 24h0m0s"}},
				{poolB, "2026-04-29T21:00", []string{"within 24h0m0s", rNewest}},
			},
		},
		{
			// b is 22:00 on Jan 1 in New York but 03:00 on Jan 2 in UTC, the
			// same day as a; only the newer of them is the daily.
			name: "buckets are UTC days",
			series: func(t testing.TB, src *idSource) []*snapshot.Manifest {
				ny := time.FixedZone("EST", -5*60*60)
				return []*snapshot.Manifest{
					newManifest(t, src, poolA, time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)),
					newManifest(t, src, poolA, time.Date(2026, 1, 2, 2, 0, 0, 0, time.UTC)),
					newManifest(t, src, poolA, time.Date(2026, 1, 1, 22, 0, 0, 0, ny)),
				}
			},
			policy: snapshot.Policy{Daily: 2},
			want: []kept{
				{poolA, "2026-01-01T12:00", []string{rDaily}},
				{poolA, "2026-01-02T03:00", []string{rDaily, rNewest}},
			},
		},
		{
			name: "every pool keeps its own newest, however old",
			series: func(t testing.TB, src *idSource) []*snapshot.Manifest {
				ms := sixHourly(t, src)
				ms = append(ms, series(t, src, poolC, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), time.Hour, 3)...)
				return ms
			},
			policy: snapshot.Policy{Last: 1},
			want: []kept{
				{poolC, "2024-06-01T02:00", []string{rLast, rNewest}},
				{poolA, "2026-04-29T18:00", []string{rLast, rNewest}},
				{poolB, "2026-04-29T21:00", []string{rLast, rNewest}},
			},
		},
		{
			name: "last larger than the series keeps everything",
			series: func(t testing.TB, src *idSource) []*snapshot.Manifest {
				return series(t, src, poolA, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour, 3)
			},
			policy: snapshot.Policy{Last: 10},
			want: []kept{
				{poolA, "2026-01-01T00:00", []string{rLast}},
				{poolA, "2026-01-01T01:00", []string{rLast}},
				{poolA, "2026-01-01T02:00", []string{rLast, rNewest}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := tc.series(t, &idSource{})
			// Reverse the input: Apply must not rely on it being sorted.
			slices.Reverse(ms)
			ds, err := snapshot.Apply(ms, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != len(ms) {
				t.Fatalf("%d decisions for %d snapshots", len(ds), len(ms))
			}
			if diff := cmp.Diff(tc.want, keptOf(ds)); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			for _, d := range ds {
				if !d.Keep && len(d.Reasons) != 0 {
					t.Errorf("forgotten %s has reasons %q", d.Manifest.ID, d.Reasons)
				}
			}
		})
	}
}

func TestApplyResultOrder(t *testing.T) {
	src := &idSource{}
	ms := sixHourly(t, src)
	ms = append(ms, newManifest(t, src, poolC, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
	slices.Reverse(ms)
	ds, err := snapshot.Apply(ms, snapshot.Policy{Daily: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(ds, func(a, b snapshot.Decision) int {
		if c := strings.Compare(a.Manifest.PoolID, b.Manifest.PoolID); c != 0 {
			return c
		}
		return strings.Compare(a.Manifest.ID, b.Manifest.ID)
	}) {
		t.Error("decisions are not sorted by pool, then id")
	}
	if ds[0].Manifest.PoolID != poolC || ds[1].Manifest.PoolID != poolA || ds[len(ds)-1].Manifest.PoolID != poolB {
		t.Errorf("pool order: first %s, second %s, last %s", ds[0].Manifest.PoolID, ds[1].Manifest.PoolID, ds[len(ds)-1].Manifest.PoolID)
	}
	if ms[0].PoolID != poolC {
		t.Error("Apply reordered its input")
	}
}

func TestApplyErrors(t *testing.T) {
	src := &idSource{}
	m := newManifest(t, src, poolA, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	dup := *m
	dup.PoolID = poolB
	tests := []struct {
		name   string
		ms     []*snapshot.Manifest
		policy snapshot.Policy
		want   []string // substrings of the error
	}{
		{"empty policy", []*snapshot.Manifest{m}, snapshot.Policy{}, []string{"keeps nothing"}},
		{"empty policy, no snapshots", nil, snapshot.Policy{}, []string{"keeps nothing"}},
		{"negative daily", []*snapshot.Manifest{m}, snapshot.Policy{Last: 1, Daily: -1}, []string{"keep-daily is -1"}},
		{"negatives are all named", nil, snapshot.Policy{Weekly: -2, Monthly: -3}, []string{"keep-weekly is -2", "keep-monthly is -3"}},
		{"negative within", nil, snapshot.Policy{Last: 1, Within: -time.Hour}, []string{"keep-within is -1h0m0s"}},
		{"duplicate id", []*snapshot.Manifest{m, &dup}, snapshot.Policy{Last: 1}, []string{m.ID, "twice"}},
		{"nil manifest", []*snapshot.Manifest{m, nil}, snapshot.Policy{Last: 1}, []string{"manifest 1 is nil"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := snapshot.Apply(tc.ms, tc.policy)
			if err == nil {
				t.Fatalf("no error; decisions %v", ds)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestApplyNoSnapshots(t *testing.T) {
	ds, err := snapshot.Apply(nil, snapshot.Policy{Last: 1})
	if err != nil || len(ds) != 0 {
		t.Fatalf("Apply(nil) = %v, %v", ds, err)
	}
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		p    snapshot.Policy
		want string
	}{
		{snapshot.Policy{Last: 3, Daily: 7, Weekly: 4}, "last 3, daily 7, weekly 4"},
		{snapshot.Policy{Hourly: 24, Monthly: 12, Yearly: 5, Within: 36 * time.Hour}, "hourly 24, monthly 12, yearly 5, within 36h0m0s"},
		{snapshot.Policy{}, "nothing"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestPolicyEmpty(t *testing.T) {
	tests := []struct {
		p    snapshot.Policy
		want bool
	}{
		{snapshot.Policy{}, true},
		{snapshot.Policy{Daily: -1}, true},
		{snapshot.Policy{Within: -time.Hour}, true},
		{snapshot.Policy{Yearly: 1}, false},
		{snapshot.Policy{Within: time.Second}, false},
	}
	for _, tc := range tests {
		if got := tc.p.Empty(); got != tc.want {
			t.Errorf("%#v.Empty() = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// referenceKeep is an independent model of the policy: for each rule, the
// newest snapshot of each of the n newest buckets, with buckets named by
// formatting the UTC time. It returns the reasons per snapshot id.
func referenceKeep(ms []*snapshot.Manifest, p snapshot.Policy) map[string][]string {
	pools := map[string][]*snapshot.Manifest{}
	for _, m := range ms {
		pools[m.PoolID] = append(pools[m.PoolID], m)
	}
	week := func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%d-W%02d", y, w) }
	layout := func(l string) func(time.Time) string { return func(t time.Time) string { return t.Format(l) } }
	rules := []struct {
		n      int
		reason string
		bucket func(time.Time) string
	}{
		{p.Hourly, rHourly, layout("2006-01-02T15")},
		{p.Daily, rDaily, layout("2006-01-02")},
		{p.Weekly, rWeekly, week},
		{p.Monthly, rMonthly, layout("2006-01")},
		{p.Yearly, rYearly, layout("2006")},
	}
	reasons := map[string][]string{}
	for _, g := range pools {
		slices.SortFunc(g, func(a, b *snapshot.Manifest) int {
			if c := b.Start.Compare(a.Start); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		if p.Within > 0 {
			for _, m := range g {
				if g[0].Start.Sub(m.Start) < p.Within {
					reasons[m.ID] = append(reasons[m.ID], "within "+p.Within.String())
				}
			}
		}
		for _, m := range g[:min(p.Last, len(g))] {
			reasons[m.ID] = append(reasons[m.ID], rLast)
		}
		for _, r := range rules {
			first := map[string]bool{}
			for _, m := range g {
				b := r.bucket(m.Start.UTC())
				if !first[b] && len(first) < r.n {
					first[b] = true
					reasons[m.ID] = append(reasons[m.ID], r.reason)
				}
			}
		}
		reasons[g[0].ID] = append(reasons[g[0].ID], rNewest)
	}
	return reasons
}

func TestApplyRetentionProperties(t *testing.T) {
	base := time.Date(2024, 12, 20, 0, 0, 0, 0, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("+13", 13*3600), time.FixedZone("-0930", -(9*3600 + 1800))}
	pools := []string{poolA, poolB, poolC}
	rapid.Check(t, func(t *rapid.T) {
		src := &idSource{}
		// The span decides which rules see several buckets.
		span := rapid.SampledFrom([]time.Duration{3 * time.Hour, 10 * 24 * time.Hour, 120 * 24 * time.Hour, 3 * 365 * 24 * time.Hour}).Draw(t, "span")
		n := rapid.IntRange(0, 60).Draw(t, "n")
		ms := make([]*snapshot.Manifest, n)
		for i := range ms {
			off := time.Duration(rapid.Int64Range(0, int64(span/time.Minute)).Draw(t, "minute")) * time.Minute
			zone := rapid.SampledFrom(zones).Draw(t, "zone")
			ms[i] = newManifest(t, src, rapid.SampledFrom(pools).Draw(t, "pool"), base.Add(off).In(zone))
		}
		count := rapid.IntRange(0, 4)
		p := snapshot.Policy{
			Last:    count.Draw(t, "last"),
			Hourly:  count.Draw(t, "hourly"),
			Daily:   count.Draw(t, "daily"),
			Weekly:  count.Draw(t, "weekly"),
			Monthly: count.Draw(t, "monthly"),
			Yearly:  count.Draw(t, "yearly"),
			Within:  rapid.SampledFrom([]time.Duration{0, 0, 0, 30 * time.Minute, 24 * time.Hour, 7 * 24 * time.Hour}).Draw(t, "within"),
		}

		ds, err := snapshot.Apply(ms, p)
		if p.Empty() {
			if err == nil {
				t.Fatalf("empty policy %v: no error", p)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != len(ms) {
			t.Fatalf("%d decisions for %d snapshots", len(ds), len(ms))
		}

		// (a) every pool's newest is kept, (b) the count bound, (d) reasons.
		newest := map[string]*snapshot.Manifest{}
		for _, m := range ms {
			if cur := newest[m.PoolID]; cur == nil || m.Start.After(cur.Start) || m.Start.Equal(cur.Start) && m.ID > cur.ID {
				newest[m.PoolID] = m
			}
		}
		perPool := map[string]int{}
		for _, d := range ds {
			if d.Manifest == newest[d.Manifest.PoolID] && !d.Keep {
				t.Fatalf("newest of pool %s (%s) forgotten", d.Manifest.PoolID, d.Manifest.ID)
			}
			if d.Keep != (len(d.Reasons) > 0) {
				t.Fatalf("%s: keep %v with reasons %q", d.Manifest.ID, d.Keep, d.Reasons)
			}
			if d.Keep {
				perPool[d.Manifest.PoolID]++
			}
		}
		if p.Within == 0 {
			limit := 1 + p.Last + p.Hourly + p.Daily + p.Weekly + p.Monthly + p.Yearly
			for pool, k := range perPool {
				if k > limit {
					t.Fatalf("pool %s keeps %d > %d", pool, k, limit)
				}
			}
		}

		// (c) deterministic and independent of input order.
		again, err := snapshot.Apply(ms, p)
		if err != nil {
			t.Fatal(err)
		}
		sameDecisions(t, "second run", ds, again)
		shuffled, err := snapshot.Apply(rapid.Permutation(ms).Draw(t, "perm"), p)
		if err != nil {
			t.Fatal(err)
		}
		sameDecisions(t, "shuffled input", ds, shuffled)

		// The decisions match the reference model, reasons and all.
		want := referenceKeep(slices.Clone(ms), p)
		got := map[string][]string{}
		for _, d := range ds {
			if d.Keep {
				got[d.Manifest.ID] = d.Reasons
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("policy %v: reasons by id (-reference +Apply):\n%s", p, diff)
		}
	})
}

func sameDecisions(t *rapid.T, what string, a, b []snapshot.Decision) {
	if len(a) != len(b) {
		t.Fatalf("%s: %d decisions, then %d", what, len(a), len(b))
	}
	for i := range a {
		if a[i].Manifest != b[i].Manifest || a[i].Keep != b[i].Keep || !slices.Equal(a[i].Reasons, b[i].Reasons) {
			t.Fatalf("%s: decision %d differs: %s %v %q vs %s %v %q", what, i,
				a[i].Manifest.ID, a[i].Keep, a[i].Reasons, b[i].Manifest.ID, b[i].Keep, b[i].Reasons)
		}
	}
}
