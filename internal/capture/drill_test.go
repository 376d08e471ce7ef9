package capture_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// emf is one CloudWatch embedded-metric-format line.
type emf struct {
	AWS struct {
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	PoolID string `json:"PoolId"`
	values map[string]any
}

func metricLines(t *testing.T, out string) map[string]emf {
	t.Helper()
	got := map[string]emf{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m emf
		must(t, json.Unmarshal([]byte(line), &m))
		must(t, json.Unmarshal([]byte(line), &m.values))
		for _, cm := range m.AWS.CloudWatchMetrics {
			for _, x := range cm.Metrics {
				if cm.Namespace != "cogvault" || len(cm.Dimensions) != 1 || !slices.Equal(cm.Dimensions[0], []string{"PoolId"}) {
					t.Errorf("metric %s: namespace %q dimensions %v", x.Name, cm.Namespace, cm.Dimensions)
				}
				got[x.Name+" "+x.Unit] = m
			}
		}
	}
	return got
}

func (e *env) poolCount(t *testing.T) int {
	t.Helper()
	out, err := e.api.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	must(t, err)
	return len(out.UserPools)
}

// The drill action restores a sample into a scratch pool, deletes it, and
// emits DrillSuccess 1 and DrillDurationSeconds; a drill that finds an
// unexpected difference emits DrillSuccess 0 and fails.
func TestDrillActionEmitsMetrics(t *testing.T) {
	e := setup(t, 100)
	_, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	before := e.poolCount(t)
	e.metrics.Reset()
	out, err := e.h.Handle(ctx, []byte(`{"action":"drill","sample":30,"snapshot":"latest"}`))
	must(t, err)
	var res struct {
		Done         bool `json:"done"` // the state machine loops until done
		Deleted      bool
		UsersDrilled int
	}
	must(t, json.Unmarshal(out, &res))
	m := metricLines(t, e.metrics.String())
	ok, dur := m["DrillSuccess Count"], m["DrillDurationSeconds Seconds"]
	if ok.values["DrillSuccess"] != 1.0 || ok.PoolID != e.pool.PoolID || dur.values == nil || !res.Done || !res.Deleted || res.UsersDrilled == 0 || res.UsersDrilled > 30 {
		t.Fatalf("drill: %s\nmetrics:\n%s", out, e.metrics)
	}
	if n := e.poolCount(t); n != before {
		t.Errorf("pools before %d, after %d", before, n)
	}
	// The answer counts differences and names no one: it lands in the
	// state machine's execution history.
	users, err := e.api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: &e.pool.PoolID})
	must(t, err)
	for _, u := range users.Users {
		if strings.Contains(string(out), *u.Username) {
			t.Fatalf("the drill's answer names user %s: %s", *u.Username, out)
		}
	}

	// One disabled user stays enabled: the drill notices.
	e.metrics.Reset()
	e.srv.InjectFault(cognitotest.Fault{Operation: "AdminDisableUser", Kind: cognitotest.FaultDrop})
	_, err = e.h.Handle(ctx, []byte(`{"action":"drill"}`))
	if err == nil || !strings.Contains(err.Error(), "drill failed") {
		t.Fatalf("drill with lost writes: %v", err)
	}
	if m := metricLines(t, e.metrics.String()); m["DrillSuccess Count"].values["DrillSuccess"] != 0.0 {
		t.Errorf("metrics:\n%s", e.metrics)
	}
	if n := e.poolCount(t); n != before {
		t.Errorf("pools before %d, after the failed drill %d", before, n)
	}
	for _, bad := range []string{`{"action":"drill","sample":-1}`, `{"action":"drill","users":3}`} {
		if _, err := e.h.Handle(ctx, []byte(bad)); err == nil || !strings.Contains(err.Error(), "drill request") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// The drill action first sweeps the scratch pools killed drills left
// behind: a day-old pool with the drill's name and tag goes, one with the
// name but not the tag stays, and the answer lists what was swept.
func TestDrillActionSweepsLeftoverScratchPools(t *testing.T) {
	e := setup(t, 20)
	_, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	mk := func(name string, tags map[string]string) string {
		out, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name), UserPoolTags: tags})
		must(t, err)
		return aws.ToString(out.UserPool.Id)
	}
	left := mk("cogvault-drill-killed", map[string]string{"cogvault:drill": "killed"})
	untagged := mk("cogvault-drill-other", nil)
	e.clock.Advance(25 * time.Hour)
	before := e.poolCount(t)
	out, err := e.h.Handle(ctx, []byte(`{"action":"drill","sample":5}`))
	must(t, err)
	var res struct {
		Swept []struct {
			PoolID  string
			Deleted bool
		}
	}
	must(t, json.Unmarshal(out, &res))
	if len(res.Swept) != 1 || res.Swept[0].PoolID != left || !res.Swept[0].Deleted {
		t.Fatalf("swept %+v, want the killed drill's pool %s", res.Swept, left)
	}
	if n := e.poolCount(t); n != before-1 {
		t.Fatalf("pools before %d, after %d: want the leftover gone and the drill's own pool deleted", before, n)
	}
	if _, err := e.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &untagged}); err != nil {
		t.Fatalf("the pool with the name but no tag: %v", err)
	}
}
