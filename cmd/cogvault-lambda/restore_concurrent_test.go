package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

// Guards bug 2 of the steps review (the restore lease): Step Functions retries a step on Lambda.ServiceException /
// SdkClientException / ClientExecutionTimeoutException while the first
// invocation may still run: two steps of one restore run at once from the
// same checkpoint. Both create users; only one state segment (state-N) can
// be stored, so the other's records (the users it created, their new subs)
// are lost. The restore then finishes with users it created itself taken
// for someone else's (skipped, not in the sub mapping).
func TestTwoRestoreStepsAtOnceLoseNoUser(t *testing.T) {
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 20})
	src, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: 200, Groups: 3})
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
	ans := invokeFresh(t, 2*time.Second, orig)
	if ans["done"] != false {
		t.Fatalf("first step answered %v", ans)
	}
	req := maps.Clone(orig)
	req["resume"] = ans["resume"]
	b, _ := json.Marshal(req)
	t.Setenv("TMPDIR", t.TempDir())
	newH := func() interface {
		Handle(context.Context, json.RawMessage) (json.RawMessage, error)
	} {
		h, err := newHandler(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1, h2 := newH(), newH()
	var wg sync.WaitGroup
	var out [2]json.RawMessage
	var errs [2]error
	wg.Add(2)
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out[0], errs[0] = h1.Handle(ctx, b)
	}()
	go func() {
		defer wg.Done()
		time.Sleep(700 * time.Millisecond) // the retry
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out[1], errs[1] = h2.Handle(ctx, b)
	}()
	wg.Wait()
	t.Logf("first attempt: %v; retry: %v", errs[0], errs[1])
	var next map[string]any
	for i := range out {
		if errs[i] == nil {
			_ = json.Unmarshal(out[i], &next)
		}
	}
	if next == nil {
		t.Fatal("neither attempt answered")
	}
	for steps := 0; next["done"] != true && steps < 200; steps++ {
		req := maps.Clone(orig)
		req["resume"] = next["resume"]
		next = invokeFresh(t, 3*time.Second, req)
	}
	store, _ := storage.NewDir(dir)
	r := repo.New(store)
	m, err := r.Resolve(context.Background(), "latest", src.PoolID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.GetCheckpoint(context.Background(), restore.ReportCheckpoint(target.PoolID, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	var rep restore.Report
	_ = json.NewDecoder(rc).Decode(&rep)
	rc.Close()
	notRestored := int64(countWhat(rep.NotRestored, "user"))
	reasons := map[string]int{}
	for _, it := range append(append([]restore.Item{}, rep.NotRestored...), rep.Changed...) {
		reasons[it.What+": "+it.Reason]++
	}
	t.Logf("report items: %v; usersSkip %d, membershipsSkipped %d", reasons, rep.UsersSkip, rep.MembershipsSkipped)
	rc, err = r.GetCheckpoint(context.Background(), restore.StateCheckpoint(target.PoolID, m.ID)+"submap.json")
	if err != nil {
		t.Fatal(err)
	}
	var maps_ []restore.SubMapping
	_ = json.NewDecoder(rc).Decode(&maps_)
	rc.Close()
	if int64(len(maps_)) != m.Counts.Users-notRestored {
		t.Errorf("sub mapping has %d users; the snapshot has %d, %d reported not restored", len(maps_), m.Counts.Users, notRestored)
	}
}
