package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/restore"
)

// Guards the CLI's side of the restore lease and of generations (bugs 2
// and 6 of the steps review): a restore --state-in-repo refuses to start
// while another run (here: a Lambda step's lease) holds the restore, before
// any write to the target; after that run ends it restores; and run again
// after it finished, it re-creates the users deleted since (a new
// generation), keeping the first run's sub mapping under gen-000001/.
func TestRestoreStateInRepoTakesTheLeaseAndRestartsAFinishedRestore(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 20, Groups: 2})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "restored"})
	repoDir := t.TempDir() + "/repo"
	flags := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	if code, _, e := run(t, ctx, append([]string{"backup", "--pool", src.PoolID}, flags...)...); code != 0 {
		t.Fatalf("backup: %d %s", code, e)
	}
	rp := openSigned(t, repoDir)
	m, err := rp.Resolve(ctx, "latest", src.PoolID)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := restore.AcquireLease(ctx, rp, tgt.PoolID, m.ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	restoreCmd := append([]string{"restore", "latest", "--pool", src.PoolID, "--to", tgt.PoolID, "--state-in-repo"}, flags...)
	if code, _, e := run(t, ctx, restoreCmd...); code == 0 || code == 3 || !strings.Contains(e, "running elsewhere") {
		t.Fatalf("restore while a step holds the lease: %d %s", code, e)
	}
	if n := srv.OpStats("AdminCreateUser").Calls; n != 0 {
		t.Fatalf("the refused restore created %d users", n)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _, e := run(t, ctx, restoreCmd...); code != 0 && code != 3 {
		t.Fatalf("restore: %d %s", code, e)
	}
	api := newFakeClient(t, srv)
	count := func() int {
		n := 0
		for _, err := range cognito.AllUsers(ctx, api, tgt.PoolID, 1, nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	before := count()
	deleted := 0
	for u, err := range cognito.AllUsers(ctx, api, tgt.PoolID, 1, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if deleted < 3 {
			if _, err := api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(tgt.PoolID), Username: u.Username}); err != nil {
				t.Fatal(err)
			}
			deleted++
		}
	}
	code, out, e := run(t, ctx, restoreCmd...)
	if code != 0 && code != 3 {
		t.Fatalf("restore again: %d %s", code, e)
	}
	if after := count(); after != before {
		t.Fatalf("the second restore left %d users, the first %d: the users deleted since were not re-created", after, before)
	}
	if !strings.Contains(out, "generation 2") {
		t.Errorf("the report does not say the run was a new generation:\n%s", out)
	}
	rc, err := rp.GetCheckpoint(ctx, restore.GenerationCheckpoint(tgt.PoolID, m.ID, 1)+"submap.json")
	if err != nil {
		t.Fatalf("the first run's sub mapping: %v", err)
	}
	rc.Close()
}
