package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// TestCloneToAnotherRegion clones a populated pool between two fakes that
// stand for two Regions, with a dry run first, then checks the id mapping
// and that the users arrived.
func TestCloneToAnotherRegion(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	east := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "us-east-1"})
	west := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "eu-west-1"})
	src, _ := east.Populate(cognitotest.PopulateOptions{PoolName: "acme", Users: 50, Groups: 3})
	dir := t.TempDir()
	// The populated pool's Google provider has a secret a snapshot never
	// holds: the map supplies it.
	mapFile := filepath.Join(dir, "map.json")
	if err := os.WriteFile(mapFile, []byte(`{"providerSecrets": {"Google": {"client_secret": "from-the-vault"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"clone", "--from", src.PoolID, "--region", "us-east-1", "--endpoint-url", east.URL,
		"--to-region", "eu-west-1", "--to-endpoint-url", west.URL, "--state-file", dir + "/state", "--mapping-file", dir + "/subs", "--id-map-file", dir + "/ids.json", "--repo", dir + "/repo"}

	code, out, errOut := run(t, ctx, append(args, "--dry-run")...)
	if code != 3 || !strings.Contains(out, "would create (dry run, nothing changed)") || !strings.Contains(out, "identity provider Google: not created") {
		t.Fatalf("clone --dry-run without a map: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := west.OpStats("CreateUserPool").Calls; n != 0 {
		t.Fatalf("a dry run created %d pools", n)
	}

	code, out, errOut = run(t, ctx, append(args, "--map", mapFile)...)
	if code != 0 && code != 3 {
		t.Fatalf("clone: exit %d\n%s\n%s", code, out, errOut)
	}
	var ids struct {
		OldPool, NewPool string
		Clients          []struct{ Name, Old, New string }
		NotCarried       []any
	}
	b, err := os.ReadFile(dir + "/ids.json")
	if err != nil || json.Unmarshal(b, &ids) != nil {
		t.Fatalf("id mapping: %v\n%s", err, b)
	}
	if fi, _ := os.Stat(dir + "/ids.json"); fi.Mode().Perm() != 0o600 {
		t.Errorf("id mapping mode %v", fi.Mode().Perm())
	}
	if ids.OldPool != src.PoolID || !strings.HasPrefix(ids.NewPool, "eu-west-1_") || len(ids.Clients) != 1 || ids.Clients[0].Old != src.ClientID || len(ids.NotCarried) != 0 {
		t.Fatalf("id mapping %+v", ids)
	}
	users, err := newFakeClient(t, west).ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(ids.NewPool)})
	if err != nil || len(users.Users) < 40 {
		t.Fatalf("the new pool holds %d users (%v)", len(users.Users), err)
	}
	if strings.Contains(out+errOut, "from-the-vault") {
		t.Error("the provider secret was printed")
	}

	// Configuration parity: diff --config lists no pool, client or
	// provider difference (users differ only as the restore reported).
	code, out, errOut = run(t, ctx, "diff", "--repo", dir+"/repo", "latest", "--pool", ids.NewPool, "--config", "--ignore-attribute", "sub",
		"--region", "eu-west-1", "--endpoint-url", west.URL)
	if code > 1 {
		t.Fatalf("diff --config: exit %d %s", code, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		for _, kind := range []string{"pool settings", "app client", "identity provider", "resource server"} {
			if strings.Contains(line, kind) {
				t.Errorf("configuration differs: %s", line)
			}
		}
	}

	// And it does compare: an app client added to the new pool shows.
	if _, err := newFakeClient(t, west).CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{UserPoolId: aws.String(ids.NewPool), ClientName: aws.String("extra")}); err != nil {
		t.Fatal(err)
	}
	_, out, _ = run(t, ctx, "diff", "--repo", dir+"/repo", "latest", "--pool", ids.NewPool, "--config", "--ignore-attribute", "sub",
		"--region", "eu-west-1", "--endpoint-url", west.URL)
	if !strings.Contains(out, "+ app client extra") {
		t.Errorf("diff --config missed an added app client:\n%s", out)
	}

	// The same snapshot cannot create a second pool with the same domain
	// in the same Region; --to and --create-pool exclude each other.
	code, _, errOut = run(t, ctx, "restore", "--repo", dir+"/nothing", "--to", "x", "--create-pool", "y")
	if code != 2 || !strings.Contains(errOut, "not both") {
		t.Errorf("--to with --create-pool: exit %d %s", code, errOut)
	}
}

// Without --to-region the new pool is made where the old one is, as the
// help says: the source pool's Region (here from its id, no --region).
func TestCloneDefaultsToTheSourceRegion(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Region: "eu-west-1"})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "acme", Users: 20, Groups: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errOut := run(t, ctx, "clone", "--from", src.PoolID, "--endpoint-url", srv.URL, "--name", "acme-copy",
		"--state-file", dir+"/state", "--mapping-file", dir+"/subs", "--id-map-file", dir+"/ids.json")
	if code != 0 && code != 3 {
		t.Fatalf("clone without --to-region: exit %d\n%s\n%s", code, out, errOut)
	}
	var ids struct{ OldPool, NewPool string }
	b, err := os.ReadFile(dir + "/ids.json")
	if err != nil || json.Unmarshal(b, &ids) != nil {
		t.Fatalf("id mapping: %v\n%s", err, b)
	}
	if !strings.HasPrefix(ids.NewPool, "eu-west-1_") || ids.NewPool == src.PoolID {
		t.Fatalf("new pool %q, want another pool in eu-west-1", ids.NewPool)
	}
	users, err := newFakeClient(t, srv).ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(ids.NewPool)})
	if err != nil || len(users.Users) < 15 {
		t.Fatalf("the new pool holds %d users (%v)", len(users.Users), err)
	}
}
