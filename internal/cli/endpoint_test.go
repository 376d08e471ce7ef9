package cli_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestEndpointURLIsCognitosOnly: --endpoint-url redirects Cognito calls
// only, as the AWS CLI's flag names the one service a command calls. S3 finds
// its own endpoint as the SDK resolves it (here the generic AWS_ENDPOINT_URL,
// or the profile's services section), so an s3:// repository keeps working
// when Cognito is reached through a VPC endpoint or a fake.
func TestEndpointURLIsCognitosOnly(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, s3URL string) []string // extra flags
	}{
		{"AWS_ENDPOINT_URL", func(t *testing.T, s3URL string) []string {
			t.Setenv("AWS_ENDPOINT_URL", s3URL)
			return []string{"--region", "us-east-1"}
		}},
		{"profile services section", func(t *testing.T, s3URL string) []string {
			cfg := t.TempDir() + "/config"
			text := "[profile vpce]\nregion = us-east-1\naws_access_key_id = fake\naws_secret_access_key = fake\nservices = local-s3\n\n[services local-s3]\ns3 =\n  endpoint_url = " + s3URL + "\n"
			if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("AWS_CONFIG_FILE", cfg)
			// Unset, not empty: the SDK skips the services section when
			// AWS_ENDPOINT_URL is set at all (isolateAWS set it to "").
			os.Unsetenv("AWS_ENDPOINT_URL")
			return []string{"--profile", "vpce"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolateAWS(t)
			cognito := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
			pool, err := cognito.Populate(cognitotest.PopulateOptions{Users: 20, Groups: 2})
			if err != nil {
				t.Fatal(err)
			}
			backend := s3mem.New()
			if err := backend.CreateBucket("backups"); err != nil {
				t.Fatal(err)
			}
			s3 := httptest.NewServer(gofakes3.New(backend).Server())
			t.Cleanup(s3.Close)
			flags := append(c.setup(t, s3.URL), "--endpoint-url", cognito.URL, "--repo", "s3://backups/cogvault")

			code, out, errOut := run(t, context.Background(), append([]string{"backup", "--pool", pool.PoolID}, flags...)...)
			if code != 0 {
				t.Fatalf("backup with Cognito at %s and S3 at %s: exit %d\n%s\n%s", cognito.URL, s3.URL, code, out, errOut)
			}
			if cognito.OpStats("ListUsers").Calls == 0 {
				t.Error("no ListUsers reached the Cognito endpoint")
			}
			objs, err := backend.ListBucket("backups", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
			if err != nil || len(objs.Contents) < 3 {
				t.Fatalf("the S3 endpoint holds %v objects (%v), want the snapshot", objs, err)
			}
			code, out, errOut = run(t, context.Background(), append([]string{"snapshots", "--pool", pool.PoolID}, flags...)...)
			if code != 0 || !strings.Contains(out, pool.PoolID) {
				t.Fatalf("snapshots: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
}
