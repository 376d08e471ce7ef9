package backup

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// The compact set answers exactly like a map, across merges and removals,
// and lists what the map holds.
func TestSubSetMatchesAMap(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := newSubSet()
		ref := map[string]bool{}
		n := rapid.IntRange(0, 3*recentMax).Draw(rt, "n")
		pool := rapid.IntRange(1, 4*recentMax).Draw(rt, "distinct")
		for range n {
			var id uuid.UUID
			k := rapid.IntRange(0, pool).Draw(rt, "k")
			id[0], id[1], id[2], id[15] = byte(k>>16), byte(k>>8), byte(k), byte(k*7)
			sub := id.String()
			if rapid.IntRange(0, 50).Draw(rt, "odd") == 0 {
				sub = "not-a-uuid-" + sub[:4]
			}
			if rapid.IntRange(0, 5).Draw(rt, "remove") == 0 {
				s.remove(sub) // a user added, then not written
				delete(ref, sub)
				continue
			}
			if got, want := s.add(sub), !ref[sub]; got != want {
				rt.Fatalf("add(%s) = %v, want %v", sub, got, want)
			}
			ref[sub] = true
		}
		ids, others := s.list()
		if len(ids)+len(others) != len(ref) {
			rt.Fatalf("the set lists %d subs, the map holds %d", len(ids)+len(others), len(ref))
		}
	})
}

// A user whose record is not written (the step's cut ended the write) is
// not left in the set: the step's sub list would otherwise name a user no
// chunk holds, and the next step would skip it.
func TestUnwrittenUserLeavesTheSet(t *testing.T) {
	b := &run{seen: newSubSet(), stats: &Stats{}, opts: Options{PoolID: "us-east-1_T"}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sub := "8f14e45f-ceea-467a-9af0-3bde2a5b2f1c"
	u := types.UserType{Username: ptr("u"), UserStatus: types.UserStatusTypeConfirmed, Enabled: true,
		Attributes: []types.AttributeType{{Name: ptr("sub"), Value: ptr(sub)}}}
	if err := b.writeUser(ctx, u, &recordWriter{}, false); err == nil {
		t.Fatal("a write under a cancelled context succeeded")
	}
	if !b.seen.add(sub) {
		t.Fatal("the unwritten user's sub stayed in the set")
	}
}
