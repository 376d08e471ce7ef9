package pitr_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

const pool = "us-east-1_Test"

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func user(name, sub string, modified time.Time, attrs ...string) snapshot.User {
	u := snapshot.User{Username: name, Sub: sub, Enabled: true, Status: "CONFIRMED", Created: t0.Add(-time.Hour), Modified: modified}
	for i := 0; i+1 < len(attrs); i += 2 {
		u.Attributes = append(u.Attributes, snapshot.Attribute{Name: attrs[i], Value: attrs[i+1]})
	}
	u.Attributes = append(u.Attributes, snapshot.Attribute{Name: "sub", Value: sub})
	return u
}

func seq[T any](vs []T) func(func(T, error) bool) {
	return func(yield func(T, error) bool) {
		for _, v := range vs {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// base writes a snapshot taken between start and end.
func base(t *testing.T, r *repo.Repo, start, end time.Time, users []snapshot.User, groups []string, members []snapshot.Membership) *snapshot.Manifest {
	t.Helper()
	cfg := &snapshot.PoolConfig{FormatVersion: 1, UserPool: []byte(`{"Id":"` + pool + `"}`)}
	for _, g := range groups {
		cfg.Groups = append(cfg.Groups, snapshot.Group{Name: g})
	}
	calls := 0
	now := func() time.Time {
		calls++
		if calls == 1 {
			return start
		}
		return end
	}
	m, err := backup.WriteSnapshot(context.Background(), r.Store, backup.Records{Pool: cfg, PoolName: "p", Users: seq(users), Memberships: seq(members)}, backup.Options{PoolID: pool, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func event(t *testing.T, r *repo.Repo, e snapshot.Event) {
	t.Helper()
	e.PoolID = pool
	if e.EventID == "" {
		e.EventID = fmt.Sprintf("e%d", e.Time.UnixNano())
	}
	if _, err := r.AppendEvent(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
}

type state struct {
	Users   map[string]snapshot.User // by sub
	Groups  []string
	Members []string // group/username
}

func stateAt(t *testing.T, r *repo.Repo, at time.Time) (state, *pitr.Point) {
	t.Helper()
	ctx := context.Background()
	p, err := pitr.At(ctx, r, pool, at)
	if err != nil {
		t.Fatal(err)
	}
	scratch, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Write(ctx, r, scratch, pitr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Derived == nil || m.Derived.Base != p.Base.ID || m.Derived.JournalEvents != p.Events || !m.Start.Equal(at.UTC()) {
		t.Fatalf("derived manifest %+v, start %s; want base %s, %d events, start %s", m.Derived, m.Start, p.Base.ID, p.Events, at)
	}
	sr := repo.New(scratch)
	if res, err := sr.Verify(ctx, m); err != nil || !res.OK() {
		t.Fatalf("derived snapshot does not verify: %v %+v", err, res)
	}
	st := state{Users: map[string]snapshot.User{}}
	for u, err := range sr.Users(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		st.Users[u.Sub] = u
	}
	cfg, err := sr.Pool(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range cfg.Groups {
		st.Groups = append(st.Groups, g.Name)
	}
	for mm, err := range sr.Memberships(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		st.Members = append(st.Members, mm.Group+"/"+mm.Username)
	}
	slices.Sort(st.Members)
	return st, p
}

func newRepo(t *testing.T) *repo.Repo {
	t.Helper()
	s, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return repo.New(s)
}

func TestPointInTimeBetweenChanges(t *testing.T) {
	r := newRepo(t)
	alice := user("alice", "aaaaaaaa-0000-4000-8000-000000000001", t0.Add(-time.Hour), "email", "a@example.com")
	bob := user("bob", "bbbbbbbb-0000-4000-8000-000000000002", t0.Add(-time.Hour), "email", "b@example.com")
	carol := user("carol", "cccccccc-0000-4000-8000-000000000003", t0.Add(-time.Hour))
	base(t, r, t0, t0.Add(time.Minute), []snapshot.User{alice, bob, carol}, []string{"admins", "staff"},
		[]snapshot.Membership{{Group: "admins", Username: "alice"}, {Group: "staff", Username: "bob"}, {Group: "staff", Username: "carol"}})

	// t1: alice's email changes; t2: bob is deleted; t3: dave signs up and
	// joins staff; t4: group staff is deleted; t5: alice leaves admins.
	t1, t2, t3, t4, t5 := t0.Add(2*time.Hour), t0.Add(3*time.Hour), t0.Add(4*time.Hour), t0.Add(5*time.Hour), t0.Add(6*time.Hour)
	alice1 := user("alice", alice.Sub, t1, "email", "new@example.com")
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t1, User: &alice1, Groups: []string{"admins"}, GroupsKnown: true, Source: "AdminUpdateUserAttributes"})
	event(t, r, snapshot.Event{Kind: snapshot.EventUserDeleted, Time: t2, Sub: bob.Sub, Source: "AdminDeleteUser"})
	dave := user("dave", "dddddddd-0000-4000-8000-000000000004", t3)
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t3, User: &dave, Source: "PostConfirmation_ConfirmSignUp"})
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t3.Add(time.Second), User: &dave, Groups: []string{"staff"}, GroupsKnown: true, Source: "AdminAddUserToGroup"})
	event(t, r, snapshot.Event{Kind: snapshot.EventGroupDeleted, Time: t4, Group: &snapshot.Group{Name: "staff"}, Source: "DeleteGroup"})
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t5, User: &alice1, GroupsKnown: true, Source: "AdminRemoveUserFromGroup"})

	subs := func(st state) []string {
		var out []string
		for _, u := range st.Users {
			out = append(out, u.Username)
		}
		slices.Sort(out)
		return out
	}
	email := func(st state, sub string) string { u := st.Users[sub]; v, _ := u.Attr("email"); return v }

	cases := []struct {
		at      time.Time
		users   []string
		email   string
		groups  []string
		members []string
		events  int64
	}{
		{t1.Add(-time.Nanosecond), []string{"alice", "bob", "carol"}, "a@example.com", []string{"admins", "staff"}, []string{"admins/alice", "staff/bob", "staff/carol"}, 0},
		{t1, []string{"alice", "bob", "carol"}, "new@example.com", []string{"admins", "staff"}, []string{"admins/alice", "staff/bob", "staff/carol"}, 1},
		{t2.Add(30 * time.Minute), []string{"alice", "carol"}, "new@example.com", []string{"admins", "staff"}, []string{"admins/alice", "staff/carol"}, 2},
		{t3.Add(time.Minute), []string{"alice", "carol", "dave"}, "new@example.com", []string{"admins", "staff"}, []string{"admins/alice", "staff/carol", "staff/dave"}, 4},
		{t4, []string{"alice", "carol", "dave"}, "new@example.com", []string{"admins"}, []string{"admins/alice"}, 5},
		{t5.Add(time.Hour), []string{"alice", "carol", "dave"}, "new@example.com", []string{"admins"}, nil, 6},
	}
	for _, c := range cases {
		t.Run(c.at.Format(time.RFC3339Nano), func(t *testing.T) {
			st, p := stateAt(t, r, c.at)
			if p.Events != c.events {
				t.Errorf("applied %d events, want %d", p.Events, c.events)
			}
			if diff := cmp.Diff(c.users, subs(st)); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
			if got := email(st, alice.Sub); got != c.email {
				t.Errorf("alice's email = %q, want %q", got, c.email)
			}
			if diff := cmp.Diff(c.groups, st.Groups); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.members, st.Members); diff != "" {
				t.Errorf("memberships (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventDuringSnapshotWindow(t *testing.T) {
	r := newRepo(t)
	// The snapshot runs from t0 to t0+10m and read erin at a state modified
	// at t0+5m; an event observed at t0+2m holds an older state, one at
	// t0+8m a newer one for frank.
	erin := user("erin", "eeeeeeee-0000-4000-8000-000000000005", t0.Add(5*time.Minute), "name", "new")
	frank := user("frank", "ffffffff-0000-4000-8000-000000000006", t0.Add(-time.Hour), "name", "old")
	base(t, r, t0, t0.Add(10*time.Minute), []snapshot.User{erin, frank}, nil, nil)
	erinOld := user("erin", erin.Sub, t0.Add(time.Minute), "name", "old")
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t0.Add(2 * time.Minute), User: &erinOld, Source: "AdminUpdateUserAttributes"})
	frankNew := user("frank", frank.Sub, t0.Add(8*time.Minute), "name", "new")
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t0.Add(8 * time.Minute), User: &frankNew, Source: "AdminUpdateUserAttributes"})
	// An event observed before the snapshot started is already in it.
	ghost := user("ghost", "99999999-0000-4000-8000-000000000009", t0.Add(-time.Hour))
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t0.Add(-time.Minute), User: &ghost, Source: "AdminCreateUser"})

	st, p := stateAt(t, r, t0.Add(time.Hour))
	if p.Events != 2 {
		t.Errorf("applied %d events, want 2 (the one before the snapshot started is skipped)", p.Events)
	}
	for name, u := range map[string]snapshot.User{"erin": st.Users[erin.Sub], "frank": st.Users[frank.Sub]} {
		if v, _ := u.Attr("name"); v != "new" {
			t.Errorf("%s's name = %q, want the newer state", name, v)
		}
	}
	if _, ok := st.Users[ghost.Sub]; ok {
		t.Error("an event from before the base snapshot was applied")
	}
}

func TestReusedUsernameImpliesDeletion(t *testing.T) {
	r := newRepo(t)
	old := user("gina", "11111111-0000-4000-8000-000000000001", t0.Add(-time.Hour))
	base(t, r, t0, t0.Add(time.Minute), []snapshot.User{old}, []string{"g"}, []snapshot.Membership{{Group: "g", Username: "gina"}})
	// The deletion of the old gina was never captured; a new gina signed up.
	newer := user("gina", "22222222-0000-4000-8000-000000000002", t0.Add(time.Hour))
	event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t0.Add(time.Hour), User: &newer, Source: "PostConfirmation_ConfirmSignUp"})
	st, _ := stateAt(t, r, t0.Add(2*time.Hour))
	if len(st.Users) != 1 || st.Users[newer.Sub].Username != "gina" {
		t.Fatalf("users = %v, want only the new gina", st.Users)
	}
	if len(st.Members) != 0 {
		t.Errorf("the new gina inherited the old one's memberships: %v", st.Members)
	}
}

func TestDuplicateDeliveryIsIdempotent(t *testing.T) {
	r := newRepo(t)
	base(t, r, t0, t0.Add(time.Minute), nil, nil, nil)
	u := user("hank", "33333333-0000-4000-8000-000000000003", t0.Add(time.Hour))
	// PostConfirmation fires twice (ConfirmSignUp, then ConfirmForgotPassword
	// with the same state) and one delivery is stored twice.
	for i, src := range []string{"PostConfirmation_ConfirmSignUp", "PostConfirmation_ConfirmForgotPassword", "PostConfirmation_ConfirmForgotPassword"} {
		event(t, r, snapshot.Event{Kind: snapshot.EventUser, Time: t0.Add(time.Hour + time.Duration(min(i, 1))*time.Second), User: &u, Source: src, EventID: fmt.Sprint("x", min(i, 1))})
	}
	st, p := stateAt(t, r, t0.Add(2*time.Hour))
	if p.Events != 2 || len(st.Users) != 1 {
		t.Errorf("events %d, users %d; want 2 stored events and one user", p.Events, len(st.Users))
	}
}

func TestNoBase(t *testing.T) {
	r := newRepo(t)
	_, err := pitr.At(context.Background(), r, pool, t0)
	if !errors.Is(err, pitr.ErrNoBase) || !strings.Contains(err.Error(), "cogvault backup --pool "+pool) {
		t.Errorf("empty repository: %v", err)
	}
	base(t, r, t0, t0.Add(time.Minute), nil, nil, nil)
	_, err = pitr.At(context.Background(), r, pool, t0.Add(30*time.Second))
	if !errors.Is(err, pitr.ErrNoBase) || !strings.Contains(err.Error(), "finished at") {
		t.Errorf("time before the first snapshot finished: %v", err)
	}
}

func TestDamagedJournal(t *testing.T) {
	r := newRepo(t)
	base(t, r, t0, t0.Add(time.Minute), nil, nil, nil)
	ctx := context.Background()
	day := snapshot.JournalDayPrefix(pool, t0)
	for name, body := range map[string]string{
		"garbage":      "{not json",
		"wrong time":   `{"formatVersion":1,"poolId":"` + pool + `","kind":"user-deleted","sub":"x","time":"2026-11-20T11:00:00Z","source":"s","eventId":"e"}`,
		"newer format": `{"formatVersion":99,"poolId":"` + pool + `","kind":"user-deleted","sub":"x","time":"2026-11-20T10:30:00Z","source":"s","eventId":"e"}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := newRepo(t)
			base(t, r, t0, t0.Add(time.Minute), nil, nil, nil)
			key := fmt.Sprintf("%s%019d-x-e.json", day, t0.Add(30*time.Minute).UnixNano())
			if err := r.Store.Put(ctx, key, strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			_, err := pitr.At(ctx, r, pool, t0.Add(time.Hour))
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("err = %v, want one naming %s", err, key)
			}
		})
	}
}
