package backup

import "testing"

// A shortfall counts only when it is both more than 1 % and more than 10
// users: estimates drift and users come and go during a backup.
func TestShortOf(t *testing.T) {
	for _, c := range []struct {
		listed, estimate int64
		short            bool
	}{
		{0, 0, false}, {0, 10, false}, {0, 11, true}, {989, 1000, true}, {990, 1000, false},
		{1985, 2000, false}, {1979, 2000, true}, {500, 400, false}, {1_000_000, 1_010_000, false},
		{1_000_000, 1_010_102, true},
	} {
		if got := shortOf(c.listed, c.estimate); got != c.short {
			t.Errorf("shortOf(%d, %d) = %v, want %v", c.listed, c.estimate, got, c.short)
		}
	}
}
