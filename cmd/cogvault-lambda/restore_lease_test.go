package main

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

// Guards the step's side of the restore lease: a step that finds another
// run holding the lease (here a laptop's restore --state-in-repo) does not
// write to the target, and answers not done, with "waiting" and a resume
// that still counts as a new request; once the lease is free, that resume
// of a request made after the restore finished starts a new generation
// and re-creates the users deleted since, instead of answering the
// finished run's report.
func TestRestoreStepWaitsForTheLeaseAndKeepsTheRequestNew(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 20, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	target, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "restored"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lambdaEnv(t, srv.URL, dir, src.PoolID)
	if ans := invokeFresh(t, time.Minute, map[string]any{"action": "snapshot"}); ans["done"] != true {
		t.Fatalf("snapshot answered %v", ans)
	}
	orig := map[string]any{"action": "restore", "targetPoolId": target.PoolID}
	if ans := invokeFresh(t, time.Minute, orig); ans["done"] != true {
		t.Fatalf("restore answered %v", ans)
	}
	ctx := context.Background()
	api := fakeClient(srv.URL)
	var gone []string
	for u, err := range cognito.AllUsers(ctx, api, target.PoolID, 1, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if len(gone) < 2 {
			if _, err := api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(target.PoolID), Username: u.Username}); err != nil {
				t.Fatal(err)
			}
			gone = append(gone, aws.ToString(u.Username))
		}
	}
	store, _ := storage.NewDir(dir)
	r := repo.New(store)
	m, err := r.Resolve(ctx, "latest", src.PoolID)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := restore.AcquireLease(ctx, r, target.PoolID, m.ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	creates := srv.OpStats("AdminCreateUser").Calls
	ans := invokeFresh(t, 2*time.Second, orig)
	resume, _ := ans["resume"].(map[string]any)
	if ans["done"] != false || ans["waiting"] == nil || resume == nil || resume["fresh"] != true {
		t.Fatalf("a step while another run holds the lease answered %v", ans)
	}
	if n := srv.OpStats("AdminCreateUser").Calls; n != creates {
		t.Fatalf("the waiting step created %d users", n-creates)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	req := maps.Clone(orig)
	req["resume"] = resume
	if ans := invokeFresh(t, time.Minute, req); ans["done"] != true {
		t.Fatalf("the step after the lease was freed answered %v", ans)
	}
	for _, u := range gone {
		if _, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(target.PoolID), Username: aws.String(u)}); err != nil {
			t.Fatalf("user deleted after the first restore was not re-created: %v", err)
		}
	}
}
