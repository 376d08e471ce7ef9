package cli_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// With no credentials and an instance metadata service that answers 404,
// the SDK's IMDS client falls back to IMDSv1 and logs a warning through the
// config's logger, which by default writes to the process's own stderr
// (aws-sdk-go-v2 feature/ec2/imds token_provider.go; config resolve.go
// Logger: logging.NewStandardLogger(os.Stderr)). The user must see our one
// line only. testdata/script/errors.txtar covers a closed IMDS port.
func TestNoCredentialsIsOneLineWithoutSDKWarnings(t *testing.T) {
	isolateAWS(t)
	imds := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(imds.Close)
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL} {
		t.Setenv(k, v)
	}
	// The SDK's default logger took os.Stderr; catch what reaches it.
	caught, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = caught
	code, out, errOut := run(t, context.Background(), "backup", "--pool", "us-east-1_AbC123456", "--repo", t.TempDir()+"/repo")
	os.Stderr = saved
	leaked, _ := os.ReadFile(caught.Name())
	want := "cogvault: no AWS credentials found (set AWS_PROFILE, run 'aws sso login', or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n"
	if code != 1 || errOut != want || out != "" {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
	if len(leaked) > 0 {
		t.Errorf("the SDK wrote to the process's stderr:\n%s", leaked)
	}
}

// A backup that fails says "failed"; "interrupted" is for Ctrl-C.
func TestFailedBackupSaysFailed(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	pool, err := srv.Populate(cognitotest.PopulateOptions{Users: 20, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	// NotAuthorizedException is not retried: the backup fails at once.
	srv.InjectFault(cognitotest.Fault{Operation: "ListUsers", Kind: cognitotest.FaultError, Code: "NotAuthorizedException"})
	code, _, errOut := run(t, context.Background(), "backup", "--pool", pool.PoolID, "--repo", t.TempDir(), "--endpoint-url", srv.URL)
	if code != 1 || !strings.Contains(errOut, "\ncogvault: backup of "+pool.PoolID+" failed: no snapshot was written") || strings.Contains(errOut, "interrupt") || !strings.Contains(errOut, "msg=stopped") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

// With neither --region nor AWS_REGION, the Region is the pool id's: the
// backup runs and its snapshot records eu-west-1.
func TestRegionComesFromThePoolID(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "eu-west-1"})
	pool, err := srv.Populate(cognitotest.PopulateOptions{Users: 5, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir()
	code, _, errOut := run(t, context.Background(), "backup", "--pool", pool.PoolID, "--repo", repoDir, "--endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("backup of %s without a Region: exit %d\n%s", pool.PoolID, code, errOut)
	}
	code, out, errOut := run(t, context.Background(), "snapshots", "--repo", repoDir, "--output", "json")
	if code != 0 || !strings.Contains(out, `"region": "eu-west-1"`) {
		t.Fatalf("snapshots: exit %d\n%s\n%s", code, out, errOut)
	}
}

// restore and diff name a missing pool the way backup does, before any
// write, and restore gives no advice to run it again.
func TestMissingPoolIsNamedByRestoreAndDiff(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	pool, err := srv.Populate(cognitotest.PopulateOptions{Users: 5, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", pool.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	want := "cogvault: no pool us-east-1_Nope12345 in us-east-1 for this account (see 'cogvault pools --region us-east-1')\n"
	code, _, errOut := run(t, context.Background(), append([]string{"restore", "latest", "--to", "us-east-1_Nope12345",
		"--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)...)
	if code != 1 || errOut != want {
		t.Errorf("restore into a missing pool: exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	if _, err := os.Stat(dir + "/state"); !os.IsNotExist(err) {
		t.Errorf("restore into a missing pool wrote its state file: %v", err)
	}
	code, _, errOut = run(t, context.Background(), append([]string{"diff", "latest", "--to", "us-east-1_Nope12345"}, common...)...)
	if code != 2 || errOut != want {
		t.Errorf("diff against a missing pool: exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}
