package diff_test

import (
	"context"
	"iter"
	"slices"
	"testing"

	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// memSource is a side held in memory.
type memSource struct {
	users   []snapshot.User
	members []snapshot.Membership
}

func (m memSource) Users(context.Context) iter.Seq2[snapshot.User, error] {
	return func(yield func(snapshot.User, error) bool) {
		for _, u := range m.users {
			if !yield(u, nil) {
				return
			}
		}
	}
}

func (m memSource) Groups(context.Context) ([]snapshot.Group, error) {
	return []snapshot.Group{{Name: "admins"}}, nil
}

func (m memSource) Memberships(context.Context) iter.Seq2[snapshot.Membership, error] {
	return func(yield func(snapshot.Membership, error) bool) {
		for _, mm := range m.members {
			if !yield(mm, nil) {
				return
			}
		}
	}
}

func user(name string, kv ...string) snapshot.User {
	u := snapshot.User{Username: name, Status: "CONFIRMED", Enabled: true}
	for i := 0; i < len(kv); i += 2 {
		u.Attributes = append(u.Attributes, snapshot.Attribute{Name: kv[i], Value: kv[i+1]})
	}
	return u
}

// A pool that signs in with email gives restored users new usernames:
// --match-by email pairs them by email (in any case), compares their
// memberships through the pairing, and reports them by username.
func TestMatchByEmail(t *testing.T) {
	old := memSource{
		users:   []snapshot.User{user("alice", "email", "Alice@Example.com", "name", "A"), user("bob", "name", "B"), user("carol", "email", "c@example.com", "name", "C")},
		members: []snapshot.Membership{{Group: "admins", Username: "alice"}, {Group: "admins", Username: "bob"}},
	}
	restored := memSource{
		users:   []snapshot.User{user("0b1e", "email", "alice@example.com", "name", "A"), user("bob", "name", "B"), user("7c3d", "email", "c@example.com", "name", "Carol")},
		members: []snapshot.Membership{{Group: "admins", Username: "0b1e"}, {Group: "admins", Username: "bob"}},
	}
	rep, err := diff.Compare(context.Background(), old, restored, diff.Options{MatchBy: "email"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.UsersAdded)+len(rep.UsersRemoved)+len(rep.MembershipsAdded)+len(rep.MembershipsRemoved) != 0 {
		t.Fatalf("matched by email: %+v", rep)
	}
	// Paired in any case; the email's case itself is a change.
	changed := func(i int, user, attr string) bool {
		return len(rep.UsersChanged) == 2 && rep.UsersChanged[i].Username == user &&
			slices.ContainsFunc(rep.UsersChanged[i].Attributes, func(a diff.AttrChange) bool { return a.Name == attr })
	}
	if !changed(0, "0b1e", "email") || !changed(1, "7c3d", "name") {
		t.Fatalf("changed: %+v, want 0b1e's email (case) and 7c3d's name", rep.UsersChanged)
	}
	// By username, every restored user is another user.
	rep, err = diff.Compare(context.Background(), old, restored, diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.UsersAdded) != 2 || len(rep.UsersRemoved) != 2 || len(rep.MembershipsRemoved) != 1 {
		t.Fatalf("matched by username: %+v", rep)
	}
}
