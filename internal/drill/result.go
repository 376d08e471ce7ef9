package drill

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// ScratchDeleter is what DeleteScratch calls.
type ScratchDeleter interface {
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	DeleteUserPool(ctx context.Context, in *cip.DeleteUserPoolInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolOutput, error)
}

// DeleteScratch deletes pool only when DescribeUserPool shows it is this
// run's scratch pool: its name starts with NamePrefix and its TagKey tag
// holds runID. Anything else is left alone with ErrNotOurs.
func DeleteScratch(ctx context.Context, api ScratchDeleter, pool, runID string) error {
	out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &pool})
	if err != nil {
		return fmt.Errorf("re-read scratch pool %s before deleting it (it may be left behind): %w", pool, err)
	}
	up := out.UserPool
	if up == nil || !strings.HasPrefix(aws.ToString(up.Name), NamePrefix) || up.UserPoolTags[TagKey] != runID {
		return fmt.Errorf("pool %s not deleted: %w (its name must start with %q and its tag %s must be %q)", pool, ErrNotOurs, NamePrefix, TagKey, runID)
	}
	if _, err := api.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: &pool}); err != nil {
		return fmt.Errorf("delete scratch pool %s (it is left behind: delete it by hand): %w", pool, err)
	}
	return nil
}

// Pace is the rate in requests a second cogvault keeps for an operation.
type Pace func(op string) float64

// DefaultPace is the quota table's default rate for op's category, capped
// at the per-pool rate where the category has one.
func DefaultPace(op string) float64 {
	_, rps := quota.MinSeconds(op, 1)
	return rps
}

// Timing is the measured time to restore and the projection for the
// whole snapshot.
type Timing struct {
	MeasuredSeconds float64 `json:"measuredSeconds"`
	// ExtrapolatedSeconds scales the measured time to all the snapshot's
	// users (the same as measured without --sample).
	ExtrapolatedSeconds float64 `json:"extrapolatedSeconds"`
	// QuotaSeconds is the least time the whole snapshot takes at the pace
	// cogvault keeps: groups, then users, then memberships.
	QuotaSeconds float64 `json:"quotaSeconds"`
	// ProjectedSeconds is the larger of the two: a restore is never faster
	// than its quotas, nor than what was measured.
	ProjectedSeconds float64 `json:"projectedSeconds"`
	// Rates are the requests a second the projection used, by operation.
	Rates map[string]float64 `json:"rates"`
}

// project fills the projection for a snapshot of counts, of which drilled
// users were restored in MeasuredSeconds.
func (t *Timing) project(pace Pace, counts snapshot.Counts, drilled int) {
	if pace == nil {
		pace = DefaultPace
	}
	t.Rates = map[string]float64{}
	rate := func(op string) float64 {
		r := pace(op)
		t.Rates[op] = r
		return r
	}
	secs := func(n int64, op string) float64 {
		if r := rate(op); r > 0 {
			return float64(n) / r
		}
		return math.Inf(1)
	}
	// The admin path calls AdminCreateUser and AdminSetUserPassword once per
	// user (restore/user.go); both categories run side by side, so the
	// slower one bounds the users phase.
	users := max(secs(counts.Users, "AdminCreateUser"), secs(counts.Users, "AdminSetUserPassword"))
	t.QuotaSeconds = round(secs(counts.Groups, "CreateGroup") + users + secs(counts.Memberships, "AdminAddUserToGroup"))
	t.ExtrapolatedSeconds = t.MeasuredSeconds
	if drilled > 0 && counts.Users > int64(drilled) {
		t.ExtrapolatedSeconds = t.MeasuredSeconds * float64(counts.Users) / float64(drilled)
	}
	t.MeasuredSeconds, t.ExtrapolatedSeconds = round(t.MeasuredSeconds), round(t.ExtrapolatedSeconds)
	t.ProjectedSeconds = max(t.QuotaSeconds, t.ExtrapolatedSeconds)
}

func round(s float64) float64 { return math.Round(s*1000) / 1000 }

// classify sorts the comparison's differences into those the restore
// report predicted (its not-restored and changed items) and the rest.
func classify(res *Result, d *diff.Report, rep *restore.Report) {
	predicted := map[string]string{} // snapshot username → reason
	groups := map[string]string{}
	for _, items := range [][]restore.Item{rep.NotRestored, rep.Changed} {
		for _, it := range items {
			if it.Username != "" {
				predicted[it.Username] = it.What + ": " + it.Reason
			} else if it.Group != "" {
				groups[it.Group] = it.What + ": " + it.Reason
			}
		}
	}
	// The comparison names a user by the scratch pool's username, which a
	// pool signing in with email gives anew: map it back.
	old := map[string]string{}
	for _, m := range rep.Mappings {
		if m.NewUsername != "" {
			old[m.NewUsername] = m.Username
		}
	}
	orig := func(u string) string {
		if o, ok := old[u]; ok {
			return o
		}
		return u
	}
	add := func(d Difference, reason string) {
		if reason != "" {
			d.Reason = reason
			res.Expected = append(res.Expected, d)
			return
		}
		res.Unexpected = append(res.Unexpected, d)
	}
	for _, u := range d.UsersRemoved {
		add(Difference{Kind: "user", Change: "missing", Username: u}, predicted[u])
	}
	for _, u := range d.UsersAdded {
		add(Difference{Kind: "user", Change: "extra", Username: orig(u)}, "")
	}
	for _, c := range d.UsersChanged {
		u := orig(c.Username)
		add(Difference{Kind: "user", Change: userChange(c), Username: u}, predicted[u])
	}
	for _, g := range d.GroupsRemoved {
		add(Difference{Kind: "group", Change: "missing", Group: g}, groups[g])
	}
	for _, g := range d.GroupsAdded {
		add(Difference{Kind: "group", Change: "extra", Group: g}, "")
	}
	for _, c := range d.GroupsChanged {
		add(Difference{Kind: "group", Change: "changed " + strings.Join(c.Fields, ", "), Group: c.Name}, groups[c.Name])
	}
	for _, m := range d.MembershipsRemoved {
		add(Difference{Kind: "membership", Change: "missing", Username: m.Username, Group: m.Group}, first(predicted[m.Username], groups[m.Group]))
	}
	for _, m := range d.MembershipsAdded {
		add(Difference{Kind: "membership", Change: "extra", Username: orig(m.Username), Group: m.Group}, "")
	}
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// userChange names what changed, never the values.
func userChange(c diff.UserChange) string {
	var parts []string
	for _, a := range c.Attributes {
		parts = append(parts, a.Name)
	}
	s := "changed"
	if len(parts) > 0 {
		s += " attributes " + strings.Join(parts, ", ")
	}
	if c.Status != nil {
		s += fmt.Sprintf("; status %s → %s", c.Status[0], c.Status[1])
	}
	if c.Enabled != nil {
		s += fmt.Sprintf("; enabled %v → %v", c.Enabled[0], c.Enabled[1])
	}
	return s
}
