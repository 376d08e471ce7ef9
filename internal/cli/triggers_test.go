package cli_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// The plan lists the target's Lambda triggers; a real run without
// --allow-triggers is refused before any write (exit 2, naming the
// triggers and the flag); with it, the user the PreSignUp function rejects
// is reported (exit 3) and the rest are restored.
func TestRestoreIntoPoolWithTriggers(t *testing.T) {
	isolateAWS(t)
	var reject string
	lambda := httptest.NewServer(cognitotest.LambdaHandler(func(fn string, ev cognitotest.TriggerEvent) (cognitotest.TriggerEvent, error) {
		if ev.UserName == reject {
			return ev, errors.New("blocked by policy")
		}
		return ev, nil
	}))
	defer lambda.Close()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, LambdaEndpoint: lambda.URL})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 40, Groups: 2})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	if err := srv.SetLambdaConfig(tgt.PoolID, map[string]string{
		"PreSignUp":         "arn:aws:lambda:us-east-1:123456789012:function:gate",
		"PreAuthentication": "arn:aws:lambda:us-east-1:123456789012:function:audit",
	}); err != nil {
		t.Fatal(err)
	}
	reject = firstUser(t, srv, src.PoolID)
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	args := append([]string{"restore", "latest", "--to", tgt.PoolID, "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)

	_, out, _ := run(t, context.Background(), append(args, "--dry-run")...)
	golden := `  trigger      PreSignUp arn:aws:lambda:us-east-1:123456789012:function:gate
               admin API: fires for every user it creates (PreSignUp_AdminCreateUser); a function error rejects that user; import jobs: none documented
  trigger      PreAuthentication arn:aws:lambda:us-east-1:123456789012:function:audit
               admin API: not fired: the restore signs no one in; import jobs: not fired
               later: runs at sign-in
`
	if !strings.Contains(out, golden) {
		t.Fatalf("plan trigger lines: want\n%s\ngot\n%s", golden, out)
	}

	code, _, errOut := run(t, context.Background(), args...)
	if code != 2 || !strings.Contains(errOut, "PreSignUp (arn:aws:lambda:us-east-1:123456789012:function:gate)") ||
		!strings.Contains(errOut, "--allow-triggers") || strings.Contains(errOut, "PreAuthentication") {
		t.Fatalf("restore without --allow-triggers: exit %d, stderr %q", code, errOut)
	}
	if n := srv.OpStats("AdminCreateUser").Calls + srv.OpStats("CreateGroup").Calls; n != 0 {
		t.Fatalf("refused restore made %d writes", n)
	}
	if _, err := os.Stat(dir + "/state"); !os.IsNotExist(err) {
		t.Fatalf("refused restore left a state file: %v", err)
	}

	code, out, _ = run(t, context.Background(), append(args, "--allow-triggers")...)
	want := "  - user: the target's PreSignUp trigger rejected it: PreSignUp failed with error blocked by policy. [1: " + reject + "]"
	if code != 3 || !strings.Contains(out, want) || !strings.Contains(out, "sub mapping") {
		t.Fatalf("restore --allow-triggers: exit %d, want line %q in\n%s", code, want, out)
	}
}

// restore --create-pool from a snapshot whose pool had a PreSignUp trigger
// is refused before the pool is created: refusing after would leave a pool.
func TestCreatePoolWithTriggersNeedsAllowTriggers(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 5})
	if err := srv.SetLambdaConfig(src.PoolID, map[string]string{"PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:gate"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	args := append([]string{"restore", "latest", "--create-pool", "copy", "--state-file", dir + "/state", "--mapping-file", dir + "/subs",
		"--id-map-file", dir + "/ids.json"}, common...)
	code, _, errOut := run(t, context.Background(), args...)
	if code != 2 || !strings.Contains(errOut, "--allow-triggers") || !strings.Contains(errOut, "PreSignUp") {
		t.Fatalf("--create-pool without --allow-triggers: exit %d, stderr %q", code, errOut)
	}
	if n := srv.OpStats("CreateUserPool").Calls; n != 0 {
		t.Fatalf("refused --create-pool created %d pools", n)
	}
	if code, _, errOut := run(t, context.Background(), append(args, "--allow-triggers")...); code != 0 && code != 3 {
		t.Fatalf("--create-pool --allow-triggers: exit %d %s", code, errOut)
	}
}

// clone is backup + restore --create-pool: it takes --allow-triggers too.
func TestCloneWithTriggersNeedsAllowTriggers(t *testing.T) {
	isolateAWS(t)
	east := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "us-east-1"})
	west := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "eu-west-1"})
	src, _ := east.Populate(cognitotest.PopulateOptions{PoolName: "acme", Users: 5})
	if err := east.SetLambdaConfig(src.PoolID, map[string]string{"UserMigration": "arn:aws:lambda:us-east-1:123456789012:function:migrate"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mapFile := dir + "/map.json"
	if err := os.WriteFile(mapFile, []byte(`{"providerSecrets": {"Google": {"client_secret": "s"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"clone", "--from", src.PoolID, "--region", "us-east-1", "--endpoint-url", east.URL, "--map", mapFile,
		"--to-region", "eu-west-1", "--to-endpoint-url", west.URL, "--state-file", dir + "/state", "--mapping-file", dir + "/subs",
		"--id-map-file", dir + "/ids.json", "--repo", dir + "/repo"}
	code, _, errOut := run(t, context.Background(), args...)
	if code != 2 || !strings.Contains(errOut, "UserMigration") || !strings.Contains(errOut, "--allow-triggers") || west.OpStats("CreateUserPool").Calls != 0 {
		t.Fatalf("clone without --allow-triggers: exit %d, %d pools created, stderr %q", code, west.OpStats("CreateUserPool").Calls, errOut)
	}
	if code, out, errOut := run(t, context.Background(), append(args, "--allow-triggers")...); code != 0 && code != 3 {
		t.Fatalf("clone --allow-triggers: exit %d\n%s\n%s", code, out, errOut)
	}
}
