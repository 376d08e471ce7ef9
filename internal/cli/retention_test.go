package cli_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// forget --prune removes the data of the snapshots it forgets at once, the
// way restic does: the grace period is for backups that never finished, and
// a forgotten snapshot finished. Both stores, since S3 lists and deletes
// differently from a directory.
func TestForgetPruneRemovesForgottenDataAtOnce(t *testing.T) {
	stores := []struct {
		name  string
		setup func(t *testing.T) (repo string, dataKeys func() []string)
	}{
		{"dir", func(t *testing.T) (string, func() []string) {
			root := t.TempDir() + "/repo"
			return root, func() []string {
				var out []string
				_ = filepath.WalkDir(filepath.Join(root, "data"), func(p string, d os.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						rel, _ := filepath.Rel(root, p)
						out = append(out, filepath.ToSlash(rel))
					}
					return nil
				})
				return out
			}
		}},
		{"s3", func(t *testing.T) (string, func() []string) {
			backend := s3mem.New()
			if err := backend.CreateBucket("backups"); err != nil {
				t.Fatal(err)
			}
			s3 := httptest.NewServer(gofakes3.New(backend).Server())
			t.Cleanup(s3.Close)
			t.Setenv("AWS_ENDPOINT_URL_S3", s3.URL)
			return "s3://backups/cv", func() []string {
				objs, err := backend.ListBucket("backups", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, o := range objs.Contents {
					if k, ok := strings.CutPrefix(o.Key, "cv/"); ok && strings.HasPrefix(k, "data/") {
						out = append(out, k)
					}
				}
				return out
			}
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			isolateAWS(t)
			srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
			pool, err := srv.Populate(cognitotest.PopulateOptions{Users: 10, Groups: 1})
			if err != nil {
				t.Fatal(err)
			}
			repoURL, dataKeys := st.setup(t)
			common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoURL}
			var ids []string
			for range 2 {
				code, out, errOut := run(t, context.Background(), append([]string{"backup", "--pool", pool.PoolID, "--output", "json"}, common...)...)
				var sum struct{ Snapshot string }
				if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
					t.Fatalf("backup: exit %d\n%s\n%s", code, out, errOut)
				}
				ids = append(ids, sum.Snapshot)
			}
			code, out, errOut := run(t, context.Background(), append([]string{"forget", "--keep-last", "1", "--prune"}, common...)...)
			if code != 0 {
				t.Fatalf("forget --prune: exit %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(out, "of 1 snapshot(s)") || strings.Contains(out, "younger than the grace period") {
				t.Errorf("forget --prune output:\n%s", out)
			}
			var kept int
			for _, k := range dataKeys() {
				if strings.Contains(k, ids[0]) {
					t.Errorf("data of forgotten snapshot %s still there: %s", ids[0], k)
				}
				if strings.Contains(k, ids[1]) {
					kept++
				}
			}
			if kept == 0 {
				t.Errorf("the data of the kept snapshot %s were removed", ids[1])
			}
		})
	}
}
