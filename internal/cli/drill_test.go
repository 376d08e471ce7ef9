package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

func poolCount(t *testing.T, srv *cognitotest.Server) int {
	t.Helper()
	out, err := newFakeClient(t, srv).ListUserPools(context.Background(), &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.UserPools)
}

// drillSetup backs up a populated pool and returns the fake and the
// arguments every drill command shares.
func drillSetup(t *testing.T, users int) (*cognitotest.Server, []string) {
	t.Helper()
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: users, Groups: 3})
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", t.TempDir() + "/repo"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	return srv, common
}

type drillDoc struct {
	ScratchPool     string
	ScratchName     string
	Deleted         bool
	UsersInSnapshot int
	UsersDrilled    int
	Sampled         bool
	Expected        []struct{ Kind, Change, Username, Reason string }
	Unexpected      []struct{ Kind, Change, Username string }
	Timing          struct {
		MeasuredSeconds, ExtrapolatedSeconds, QuotaSeconds, ProjectedSeconds float64
		Rates                                                                map[string]float64
	}
}

// A drill of a whole pool exits 0, reports measured and projected times,
// counts what the restore report predicted as expected, and leaves no pool.
func TestDrillRestoresComparesAndDeletesTheScratchPool(t *testing.T) {
	srv, common := drillSetup(t, 60)
	before := poolCount(t, srv)
	code, out, errOut := run(t, context.Background(), append([]string{"drill", "latest", "--output", "json"}, common...)...)
	if code != 0 {
		t.Fatalf("drill: exit %d\n%s\n%s", code, out, errOut)
	}
	var doc drillDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if after := poolCount(t, srv); after != before {
		t.Errorf("pools before %d, after %d: the scratch pool was left behind", before, after)
	}
	if !doc.Deleted || !strings.HasPrefix(doc.ScratchName, "cogvault-drill-") || doc.UsersInSnapshot != 60 || doc.Sampled {
		t.Errorf("report: %+v", doc)
	}
	// The fake's federated-only users cannot be restored: the restore
	// report says so, and the drill counts them as expected.
	if len(doc.Expected) == 0 || len(doc.Unexpected) != 0 {
		t.Errorf("expected %v, unexpected %v", doc.Expected, doc.Unexpected)
	}
	tm := doc.Timing
	if tm.QuotaSeconds <= 0 || tm.ProjectedSeconds < tm.QuotaSeconds || tm.ProjectedSeconds < tm.MeasuredSeconds || tm.Rates["AdminCreateUser"] <= 0 {
		t.Errorf("timing: %+v", tm)
	}
}

// A write the restore believed done but Cognito lost makes a user differ:
// the drill exits 1 naming it, and still deletes its pool.
func TestDrillWithAnUnexpectedDifferenceFails(t *testing.T) {
	srv, common := drillSetup(t, 100)
	before := poolCount(t, srv)
	srv.InjectFault(cognitotest.Fault{Operation: "AdminDisableUser", Kind: cognitotest.FaultDrop, Count: 1})
	code, out, errOut := run(t, context.Background(), append([]string{"drill", "latest"}, common...)...)
	if code != 1 || !strings.Contains(errOut, "1 unexpected difference") || !strings.Contains(out, "enabled false → true") {
		t.Fatalf("drill with a lost AdminDisableUser: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := poolCount(t, srv); after != before {
		t.Errorf("pools before %d, after %d", before, after)
	}
}
