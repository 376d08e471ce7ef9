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
)

// Guards bug 6 of the steps review (restore generations): a new restore request (no resume) for a snapshot and target that
// a finished restore used takes up that restore's state from the
// repository: users it marked done, deleted from the target since, are not
// created again, and the answer says done.
func TestRestoreRequestAfterAFinishedOneRecreatesLostUsers(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 40, Groups: 2})
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
	run := func() {
		req := maps.Clone(orig)
		for steps := 0; steps < 100; steps++ {
			ans := invokeFresh(t, 30*time.Second, req)
			if ans["done"] == true {
				return
			}
			req = maps.Clone(orig)
			req["resume"] = ans["resume"]
		}
		t.Fatal("never done")
	}
	run()
	api := fakeClient(srv.URL)
	ctx := context.Background()
	count := func() int {
		n := 0
		for _, err := range cognito.AllUsers(ctx, api, target.PoolID, 1, nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	before := count()
	deleted := 0
	for u, err := range cognito.AllUsers(ctx, api, target.PoolID, 1, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if deleted < 5 {
			if _, err := api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(target.PoolID), Username: u.Username}); err != nil {
				t.Fatal(err)
			}
			deleted++
		}
	}
	run() // the same request again, a new execution
	if after := count(); after != before {
		t.Fatalf("after a second restore the target has %d users, after the first %d: the users lost since were not restored", after, before)
	}
}
