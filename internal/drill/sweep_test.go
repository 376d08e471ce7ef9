package drill_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/drill"
)

// Sweep deletes a drill's scratch pool left behind (its name and its tag
// both say so, and it is older than the threshold) and nothing else: not a
// young one (a drill may be running), not one with the name and no tag,
// the tag and another name, or a tag of another run. A dry run deletes
// nothing.
func TestSweepDeletesOnlyOldPoolsWithBothMarks(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Now().Add(-48 * time.Hour).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Now: now})
	api := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	create := func(name string, tags map[string]string) string {
		t.Helper()
		out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(name), UserPoolTags: tags})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserPool.Id)
	}
	left := create("cogvault-drill-r1", map[string]string{drill.TagKey: "r1"})
	keep := []string{
		create("cogvault-drill-r2", nil),
		create("production", map[string]string{drill.TagKey: "r3"}),
		create("cogvault-drill-r4", map[string]string{drill.TagKey: "r5"}),
		create("cogvault-drill-r6", map[string]string{"team": "r6"}),
	}
	clock.Store(time.Now().UnixNano())
	young := create("cogvault-drill-r7", map[string]string{drill.TagKey: "r7"})
	keep = append(keep, young)
	pools := func() []string {
		out, err := api.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range out.UserPools {
			ids = append(ids, aws.ToString(p.Id))
		}
		return ids
	}

	dry, err := drill.Sweep(ctx, api, drill.SweepOptions{DryRun: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(pools()) != 6 {
		t.Fatalf("a dry run deleted pools: %v", pools())
	}
	res, err := drill.Sweep(ctx, api, drill.SweepOptions{OlderThan: 24 * time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := pools()
	if slices.Contains(got, left) {
		t.Fatalf("the leftover drill pool %s was not swept", left)
	}
	for _, id := range keep {
		if !slices.Contains(got, id) {
			t.Fatalf("pool %s was deleted: it lacks a mark or is young", id)
		}
	}
	for _, r := range []*drill.SweepResult{dry, res} {
		if len(r.Pools) != 2 || r.Pools[0].PoolID == r.Pools[1].PoolID {
			t.Fatalf("sweep listed %+v: want the leftover and the young drill pool only", r.Pools)
		}
		for _, p := range r.Pools {
			want := p.PoolID == left && p.Deleted == !r.DryRun && p.Kept == "" || p.PoolID == young && !p.Deleted && p.Kept != ""
			if !want {
				t.Fatalf("sweep (dry run %v) listed %+v", r.DryRun, p)
			}
		}
	}
}
