package crypt

import "testing"

// A "*" part of an encrypted prefix stands for exactly one part of a key.
func TestPrefixStarMatchesOnePart(t *testing.T) {
	for _, c := range []struct {
		key, prefix string
		want        bool
	}{
		{"migrations/us-east-1_A/users/x.json", "migrations/*/users/", true},
		{"migrations/us-east-1_A/pending/x.json", "migrations/*/users/", false},
		{"migrations/users/x.json", "migrations/*/users/", false},
		{"migrations//users/x.json", "migrations/*/users/", false},
		{"migrations/a/b/users/x.json", "migrations/*/users/", false},
		{"data/x", "data/", true},
		{"journal/x", "data/", false},
	} {
		if got := hasPrefix(c.key, c.prefix); got != c.want {
			t.Errorf("hasPrefix(%q, %q) = %v, want %v", c.key, c.prefix, got, c.want)
		}
	}
}
