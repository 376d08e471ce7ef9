package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func isolateAWS(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "",
		"AWS_CONFIG_FILE": dir + "/config", "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
		// Restore's side files go to the state directory: never the developer's.
		"XDG_STATE_HOME": dir + "/state",
		// Keys and the trust store stay out of the developer's ~/.config.
		"XDG_CONFIG_HOME": dir + "/xdg-config", "COGVAULT_SIGNING_KEY": "", "COGVAULT_REPO_KEY": "",
	} {
		t.Setenv(k, v)
	}
}

func run(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb syncBuf
	code = cli.Main(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPoolsListsPoolsFromTheEndpoint(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod-users", Users: 3})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, context.Background(), "pools", "--endpoint-url", srv.URL, "--region", "us-east-1")
	if code != 0 || !strings.Contains(out, res.PoolID) || !strings.Contains(out, "prod-users") {
		t.Fatalf("pools: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = run(t, context.Background(), "pools", "--endpoint-url", srv.URL, "--region", "us-east-1", "--output", "json")
	var doc struct {
		Region string
		Pools  []struct{ ID, Name string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || len(doc.Pools) != 1 || doc.Pools[0].ID != res.PoolID {
		t.Fatalf("pools json: exit %d, %v, %s", code, err, out)
	}
}

func TestPoolsWithoutRegionSaysHowToFixIt(t *testing.T) {
	isolateAWS(t)
	code, _, errOut := run(t, context.Background(), "pools")
	if code != 1 || !strings.Contains(errOut, "pass --region or set AWS_REGION") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestFakeCognitoServesUntilInterrupted(t *testing.T) {
	isolateAWS(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuf
	done := make(chan int)
	go func() {
		done <- cli.Main(ctx, []string{"fake-cognito", "--listen", "127.0.0.1:0", "--users", "25", "--groups", "2", "--output", "json"},
			strings.NewReader(""), &out, &errb)
	}()
	var info struct {
		Endpoint, Region, PoolID string
		Users                    int
	}
	deadline := time.Now().Add(10 * time.Second)
	for json.Unmarshal([]byte(out.String()), &info) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if info.Endpoint == "" || info.Users != 25 {
		t.Fatalf("fake-cognito printed %q", out.String())
	}
	// The served fake answers the CLI's own commands.
	code, pools, errOut := run(t, context.Background(), "pools", "--endpoint-url", info.Endpoint, "--region", info.Region)
	if code != 0 || !strings.Contains(pools, info.PoolID) {
		t.Fatalf("pools against fake-cognito: %d %s %s", code, pools, errOut)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("fake-cognito exit %d after interrupt: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake-cognito did not stop on interrupt")
	}
}

func TestBackupSnapshotsVerifyEndToEnd(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 50})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 3000, Groups: 12})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir() + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	code, out, errOut := run(t, context.Background(), append([]string{"backup", "--pool", res.PoolID, "--output", "json", "--chunk-records", "1000"}, common...)...)
	var sum struct {
		Snapshot           string
		Users, Memberships int
		Objects            int
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 {
		t.Fatalf("backup: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if sum.Users != 3000 || sum.Memberships != res.Memberships || sum.Objects < 5 {
		t.Fatalf("backup summary %+v", sum)
	}
	code, out, _ = run(t, context.Background(), append([]string{"snapshots"}, common...)...)
	if code != 0 || !strings.Contains(out, sum.Snapshot) || !strings.Contains(out, res.PoolID) {
		t.Fatalf("snapshots: %d\n%s", code, out)
	}
	code, out, _ = run(t, context.Background(), append([]string{"verify", "latest"}, common...)...)
	if code != 0 || !strings.Contains(out, sum.Snapshot+": ok") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	// Damage one object: verify exits 1 and names it.
	objs, _ := filepath.Glob(filepath.Join(repoDir, "data", sum.Snapshot, "users-000002.jsonl.zst"))
	if len(objs) != 1 {
		t.Fatalf("no second user chunk in %s", repoDir)
	}
	b, _ := os.ReadFile(objs[0])
	b[len(b)/3] ^= 0xff
	if err := os.WriteFile(objs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, context.Background(), append([]string{"verify"}, common...)...)
	if code != 1 || !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "users-000002.jsonl.zst") || !strings.Contains(errOut, "1 of 1 snapshot(s) damaged") {
		t.Fatalf("verify damaged: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestBackupOfMissingPoolFailsClearly(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{})
	repoDir := t.TempDir() + "/repo"
	code, _, errOut := run(t, context.Background(), "backup", "--pool", "us-east-1_Missing00", "--repo", repoDir, "--endpoint-url", srv.URL, "--region", "us-east-1")
	if want := "cogvault: no pool us-east-1_Missing00 in us-east-1 for this account (see 'cogvault pools --region us-east-1')\n"; code != 1 || errOut != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
	if _, err := os.Stat(repoDir); !os.IsNotExist(err) {
		t.Fatalf("a backup of a missing pool created the repository: %v", err)
	}
}

func TestDiffExitCodes(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: 200, Groups: 3})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir() + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", res.PoolID}, common...)...); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	code, out, _ := run(t, context.Background(), append([]string{"diff", "latest"}, common...)...)
	if code != 0 || !strings.Contains(out, "no differences (200 users compared)") {
		t.Fatalf("diff right after backup: %d\n%s", code, out)
	}
	// Change the live pool behind the snapshot's back.
	c := newFakeClient(t, srv)
	if _, err := c.AdminDisableUser(context.Background(), &cip.AdminDisableUserInput{UserPoolId: &res.PoolID, Username: aws.String(firstUser(t, srv, res.PoolID))}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, context.Background(), append([]string{"diff", "latest"}, common...)...)
	if code != 1 || !strings.Contains(out, "enabled true → false") || !strings.Contains(errOut, "differ") {
		t.Fatalf("diff after a change: exit %d\n%s\n%s", code, out, errOut)
	}
	code, _, errOut = run(t, context.Background(), append([]string{"diff", "nosuchsnapshot"}, common...)...)
	if code != 2 || !strings.Contains(errOut, `snapshot "nosuchsnapshot"`) {
		t.Fatalf("diff of a missing snapshot: exit %d %s", code, errOut)
	}
}

func newFakeClient(t *testing.T, srv *cognitotest.Server) *cip.Client {
	t.Helper()
	return cip.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: awsx.BufferBodies(awshttp.NewBuildableClient()),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
}

func firstUser(t *testing.T, srv *cognitotest.Server, pool string) string {
	t.Helper()
	out, err := newFakeClient(t, srv).ListUsers(context.Background(), &cip.ListUsersInput{UserPoolId: &pool, Limit: aws.Int32(1),
		Filter: aws.String(`status = "Enabled"`)})
	if err != nil || len(out.Users) == 0 {
		t.Fatalf("no enabled user: %v", err)
	}
	return aws.ToString(out.Users[0].Username)
}

func TestRestoreCommand(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 150, Groups: 3})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	restoreArgs := append([]string{"restore", "latest", "--to", tgt.PoolID, "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)

	code, out, _ := run(t, context.Background(), append(restoreArgs, "--dry-run")...)
	if code != 3 || !strings.Contains(out, "plan (dry run, nothing changed)") || !strings.Contains(out, "federated-only user") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if n := srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("dry run created %d users", n)
	}
	code, out, errOut := run(t, context.Background(), restoreArgs...)
	if code != 3 || !strings.Contains(out, "sub mapping") || !strings.Contains(errOut, "could not be restored") {
		t.Fatalf("restore: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, f := range []string{dir + "/subs.csv", dir + "/subs.json", dir + "/state"} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
	b, _ := os.ReadFile(dir + "/subs.csv")
	if lines := strings.Count(string(b), "\n"); lines < 100 || !strings.HasPrefix(string(b), "old_sub,new_sub,username,new_username\n") {
		t.Fatalf("mapping csv has %d lines:\n%.200s", lines, b)
	}
	if srv.MessagesSent() != 0 {
		t.Fatalf("restore sent %d messages", srv.MessagesSent())
	}
	// The import-job path into a second pool; its logs come from CloudWatch
	// Logs, which --endpoint-url (Cognito's) does not redirect.
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", srv.URL)
	tgt2, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target2", Seed: 6})
	importArgs := append([]string{"restore", "latest", "--to", tgt2.PoolID, "--via", "import", "--state-file", dir + "/state2", "--mapping-file", dir + "/subs2"}, common...)
	code, _, errOut = run(t, context.Background(), importArgs...)
	if code != 2 || !strings.Contains(errOut, "--import-role-arn") {
		t.Fatalf("import without a role: exit %d %s", code, errOut)
	}
	code, out, _ = run(t, context.Background(), append(importArgs, "--import-role-arn", "arn:aws:iam::123456789012:role/import")...)
	if code != 3 || !strings.Contains(out, "import job(s)") || srv.OpStats("StartUserImportJob").Calls == 0 {
		t.Fatalf("restore --via import: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{{"--on-existing", "merge"}, {"--only", "clients"}, {"--via", "magic"}} {
		code, _, errOut := run(t, context.Background(), append(restoreArgs, bad...)...)
		if code != 2 || !strings.Contains(errOut, "accepted values") {
			t.Fatalf("%v: exit %d %s", bad, code, errOut)
		}
	}
}

// Nothing cogvault prints carries attribute values: a full demo run (backup,
// verify, diff, restore) is searched for every email address and phone
// number of the generated pool.
func TestDemoOutputCarriesNoAttributeValues(t *testing.T) {
	isolateAWS(t)
	// The same seeds generate the same pool as the demo's.
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Seed: 1})
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "cogvault-demo", Users: 400, Groups: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for u, err := range cognito.Users(context.Background(), newFakeClient(t, srv), res.PoolID, "") {
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"email", "phone_number", "address"} {
			if v, ok := cognito.Attr(u.Attributes, name); ok {
				secrets = append(secrets, v)
			}
		}
	}
	if len(secrets) < 300 {
		t.Fatalf("only %d values to look for", len(secrets))
	}
	for _, args := range [][]string{
		{"demo", "--users", "400", "--groups", "5", "--repo", t.TempDir() + "/a"},
		{"demo", "--users", "400", "--groups", "5", "--repo", t.TempDir() + "/b", "--output", "json"},
	} {
		code, out, errOut := run(t, context.Background(), args...)
		if code != 0 {
			t.Fatalf("demo: exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, res.PoolID) {
			t.Fatalf("the demo generated another pool than %s; the values searched are not its own", res.PoolID)
		}
		for _, v := range secrets {
			if strings.Contains(out, v) || strings.Contains(errOut, v) {
				t.Fatalf("demo output contains the attribute value %q", v)
			}
		}
	}
}
