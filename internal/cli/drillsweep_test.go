package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// 'drill --sweep' deletes a scratch pool with both marks once old enough
// (--older-than 0s here: every such pool is old enough), never one with
// the name alone; --dry-run deletes nothing; flags that belong to a drill
// are refused with it.
func TestDrillSweepDeletesLeftoversOnly(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	api := newFakeClient(t, srv)
	for _, c := range []struct {
		name string
		tags map[string]string
	}{{"cogvault-drill-x1", map[string]string{"cogvault:drill": "x1"}}, {"cogvault-drill-x2", nil}} {
		if _, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String(c.name), UserPoolTags: c.tags}); err != nil {
			t.Fatal(err)
		}
	}
	common := []string{"drill", "--sweep", "--endpoint-url", srv.URL, "--region", "us-east-1"}
	if code, out, e := run(t, ctx, append(common, "--older-than", "1ns", "--dry-run")...); code != 0 || !strings.Contains(out, "would delete") || poolCount(t, srv) != 2 {
		t.Fatalf("--dry-run: exit %d, %s %s, %d pools", code, out, e, poolCount(t, srv))
	}
	if code, out, e := run(t, ctx, append(common, "--older-than", "1ns")...); code != 0 || !strings.Contains(out, "1 deleted") || poolCount(t, srv) != 1 {
		t.Fatalf("sweep: exit %d, %s %s, %d pools", code, out, e, poolCount(t, srv))
	}
	if code, _, e := run(t, ctx, append(common, "--sample", "3")...); code != 2 || !strings.Contains(e, "--sweep") {
		t.Fatalf("--sweep --sample: exit %d, %s", code, e)
	}
}
