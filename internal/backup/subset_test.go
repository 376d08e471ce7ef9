package backup

import (
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// The compact set answers exactly like a map, across merges.
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
			if got, want := s.add(sub), !ref[sub]; got != want {
				rt.Fatalf("add(%s) = %v, want %v", sub, got, want)
			}
			ref[sub] = true
		}
	})
}
