package quota_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/quota"
)

// The list of operations cogvault calls is what `cogvault quotas` shows and
// which provisioned limits cogvault reads; an operation the code calls and
// the list lacks would go unexplained there. The code is the truth: every
// call of a known operation (client.Op( or NewOpPaginator) outside tests and
// the fake.
func TestUsedMatchesTheCode(t *testing.T) {
	known := map[string]bool{}
	for _, op := range quota.Operations() {
		known[op] = true
	}
	call := regexp.MustCompile(`\.([A-Z][A-Za-z]+)\(`)
	called := map[string]bool{}
	for _, root := range []string{"../../internal", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "cognitotest" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range call.FindAllStringSubmatch(string(b), -1) {
				op := m[1]
				if p, ok := strings.CutPrefix(op, "New"); ok {
					op = strings.TrimSuffix(p, "Paginator")
				}
				if known[op] {
					called[op] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	used := quota.Used()
	for op := range called {
		if !slices.Contains(used, op) {
			t.Errorf("the code calls %s; add it to the used list in internal/quota/used.go", op)
		}
	}
	for _, op := range used {
		if !called[op] {
			t.Errorf("used.go lists %s, which no code calls", op)
		}
	}
	if len(called) < 20 {
		t.Fatalf("found only %d operations called; is the scan broken?", len(called))
	}
}

func TestAdjustableAndPerPool(t *testing.T) {
	// The table's Adjustable column (docs/cognito-facts.md §9).
	yes := []quota.Category{quota.UserAuthentication, quota.UserCreation, quota.UserFederation,
		quota.UserRead, quota.UserToken, quota.UserResourceRead}
	for _, c := range quota.Categories() {
		if got, want := quota.Adjustable(c), slices.Contains(yes, c); got != want {
			t.Errorf("Adjustable(%s) = %v, the table says %v", c, got, want)
		}
	}
	// Footnote 3: exactly these four categories are capped per pool.
	capped := []quota.Category{quota.UserPoolResourceRead, quota.UserPoolResourceUpdate,
		quota.UserPoolClientRead, quota.UserPoolClientUpdate}
	for _, c := range quota.Categories() {
		if got, want := quota.PerPoolCapped(c), slices.Contains(capped, c); got != want {
			t.Errorf("PerPoolCapped(%s) = %v, the footnote says %v", c, got, want)
		}
	}
	if quota.PerPoolOperationRPS != 5 {
		t.Errorf("per-pool cap = %v, the footnote says 5", quota.PerPoolOperationRPS)
	}
	// UserAuthentication: the migration function's AdminInitiateAuth.
	if got, want := quota.UsedAdjustable(), []quota.Category{quota.UserAuthentication, quota.UserCreation, quota.UserRead, quota.UserResourceRead}; !slices.Equal(got, want) {
		t.Errorf("UsedAdjustable = %v, want %v", got, want)
	}
}

// The example, from the table: 10,000 groups at CreateGroup's 5 RPS
// per pool (not UserPoolResourceUpdate's 15) take at least 2,000 s; 1,000
// AdminCreateUser calls at UserCreation's 50 take 20 s.
func TestMinSeconds(t *testing.T) {
	for _, tc := range []struct {
		op        string
		n         int
		secs, rps float64
	}{
		{"CreateGroup", 10000, 2000, 5},
		{"AdminCreateUser", 1000, 20, 50},
		{"NoSuchOperation", 10, 0, 0},
	} {
		if secs, rps := quota.MinSeconds(tc.op, tc.n); secs != tc.secs || rps != tc.rps {
			t.Errorf("MinSeconds(%s, %d) = %v s at %v/s, want %v s at %v/s", tc.op, tc.n, secs, rps, tc.secs, tc.rps)
		}
	}
}
