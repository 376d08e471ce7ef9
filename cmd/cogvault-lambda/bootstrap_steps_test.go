package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/lambdatest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

const workerARN = "arn:aws:lambda:us-east-1:123456789012:function:cogvault-worker"

// TestBootstrapSnapshotsAndRestoresInSteps is issue 14's "done when" run
// through the real bootstrap binary under the Lambda runtime API: every
// step is a new process with a fresh empty TMPDIR and a deadline of a few
// seconds (Lambda-Runtime-Deadline-Ms), given the original request plus
// the previous answer's "resume", as the state machine sends it. The
// snapshot verifies and holds the pool's users; the admin-path restore
// leaves the target as the snapshot says (the independent oracle) with the
// sub mapping in the repository.
func TestBootstrapSnapshotsAndRestoresInSteps(t *testing.T) {
	bin := buildBootstrap(t)
	rt := lambdatest.Start(t, lambdatest.Options{FunctionARN: workerARN, Timeout: raceFactor * 3 * time.Second})
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
	env := map[string]string{
		"COGVAULT_REPO": dir, "COGVAULT_POOL_ID": src.PoolID,
		"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	}
	ctx := context.Background()
	store, _ := storage.NewDir(dir)
	r := repo.New(store)

	snap, snapSteps := stepBootstrap(t, bin, rt, env, map[string]any{"action": "snapshot"})
	m, err := r.Manifest(ctx, snap["snapshot"].(string))
	if err != nil {
		t.Fatalf("the snapshot the last step named: %v", err)
	}
	if res, err := r.Verify(ctx, m); err != nil || !res.OK() || m.Counts.Users != 200 {
		t.Fatalf("snapshot %s: %d users, verify %v %+v; want the pool's 200", m.ID, m.Counts.Users, err, res)
	}

	final, steps := stepBootstrap(t, bin, rt, env, map[string]any{"action": "restore", "targetPoolId": target.PoolID, "snapshot": m.ID})
	if steps < 2 {
		t.Fatalf("%d steps: the test wants a restore that takes several", steps)
	}
	t.Logf("snapshot in %d step(s), restore in %d, each a new process", snapSteps, steps)
	rc, err := r.GetCheckpoint(ctx, restore.ReportCheckpoint(target.PoolID, m.ID))
	if err != nil {
		t.Fatalf("no report where the final answer %v says: %v", final, err)
	}
	var rep restore.Report
	if err := json.NewDecoder(rc).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	sameAsSnapshot(t, r, m, fakeClient(srv.URL), target.PoolID, &rep)
	rc, err = r.GetCheckpoint(ctx, restore.StateCheckpoint(target.PoolID, m.ID)+"submap.json")
	if err != nil {
		t.Fatalf("no sub mapping in the repository: %v", err)
	}
	var subs []restore.SubMapping
	if err := json.NewDecoder(rc).Decode(&subs); err != nil || len(subs) == 0 {
		t.Fatalf("sub mapping: %d pairs, %v", len(subs), err)
	}
	rc.Close()
}

// stepBootstrap sends orig, then orig plus each answer's "resume", each
// to a new bootstrap process in a fresh TMPDIR, until an answer is done;
// it returns that answer and the number of steps.
func stepBootstrap(t *testing.T, bin string, rt *lambdatest.Runtime, env map[string]string, orig map[string]any) (map[string]any, int) {
	t.Helper()
	req := maps.Clone(orig)
	for steps := 1; steps <= 100; steps++ {
		ans := invokeFreshProcess(t, bin, rt, env, req)
		if ans["done"] == true {
			return ans, steps
		}
		if ans["done"] != false || ans["resume"] == nil {
			t.Fatalf("step %d answered %v: want done false with a resume", steps, ans)
		}
		req = maps.Clone(orig)
		req["resume"] = ans["resume"]
	}
	t.Fatalf("%v never finished", orig)
	return nil, 0
}

// invokeFreshProcess starts the bootstrap in a fresh TMPDIR, invokes it
// once through the Invoke API and stops it: a cold environment each time.
func invokeFreshProcess(t *testing.T, bin string, rt *lambdatest.Runtime, env map[string]string, req map[string]any) map[string]any {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr, "AWS_LAMBDA_FUNCTION_NAME=cogvault-worker", "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs lockedBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the bootstrap binary: %v", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	b, _ := json.Marshal(req)
	resp, err := http.Post(rt.URL+"/2015-03-31/functions/cogvault-worker/invocations", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		t.Fatalf("invoke %s: function error %s\n%s", b, out, logs.String())
	}
	var ans map[string]any
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatalf("invoke %s: answer %s: %v", b, out, err)
	}
	return ans
}
