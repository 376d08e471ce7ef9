package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// TestPointInTimeCommands drives journal list, restore --at, journal
// compact, forget and prune over one repository whose journal holds a
// change and a deletion after the snapshot.
func TestPointInTimeCommands(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 40, Groups: 2})
	dir := t.TempDir()
	repoDir := dir + "/repo"
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", repoDir}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	// The Lambda's writes, signed with the repository's key as the
	// Lambda's KMS key would sign them.
	r := openSigned(t, repoDir)
	base, err := r.Resolve(ctx, "latest", "")
	if err != nil {
		t.Fatal(err)
	}
	// Pick a user of the snapshot; journal a change of its name an hour
	// later and its deletion two hours later, as the Lambda would.
	var u snapshot.User
	for x, err := range r.Users(ctx, base) {
		if err != nil {
			t.Fatal(err)
		}
		if x.Enabled && x.Status == "CONFIRMED" && len(x.Identities) == 0 {
			u = x
			break
		}
	}
	t1, t2 := base.End.Add(time.Hour), base.End.Add(2*time.Hour)
	changed := u
	changed.Attributes = append([]snapshot.Attribute{{Name: "name", Value: "Name-At-T1"}}, withoutAttr(u.Attributes, "name")...)
	for _, e := range []*snapshot.Event{
		{PoolID: src.PoolID, Kind: snapshot.EventUser, Time: t1, User: &changed, Source: "AdminUpdateUserAttributes", EventID: "e1"},
		{PoolID: src.PoolID, Kind: snapshot.EventUserDeleted, Time: t2, Sub: u.Sub, Source: "AdminDeleteUser", EventID: "e2"},
	} {
		if _, err := r.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := run(t, ctx, append([]string{"journal", "list"}, common...)...)
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, "AdminDeleteUser") || strings.Contains(out, "Name-At-T1") {
		t.Fatalf("journal list: exit %d\n%s\n%s", code, out, errOut)
	}

	// Between the two: the user exists, with the new name.
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	at := t1.Add(30 * time.Minute).Format(time.RFC3339)
	code, out, errOut = run(t, ctx, append([]string{"restore", "--at", at, "--to", tgt.PoolID, "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)...)
	if (code != 0 && code != 3) || !strings.Contains(out, "+ 1 journal event(s)") || !strings.Contains(out, base.ID) {
		t.Fatalf("restore --at: exit %d\n%s\n%s", code, out, errOut)
	}
	got, err := newFakeClient(t, srv).AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &tgt.PoolID, Username: &u.Username})
	if err != nil {
		t.Fatalf("the user restored --at %s is missing: %v", at, err)
	}
	for _, a := range got.UserAttributes {
		if aws.ToString(a.Name) == "name" && aws.ToString(a.Value) != "Name-At-T1" {
			t.Errorf("restored name %q, want the name at %s", aws.ToString(a.Value), at)
		}
	}
	for _, bad := range [][]string{{"latest", "--at", at}, {"--at", "yesterday"}} {
		code, _, errOut := run(t, ctx, append(append([]string{"restore", "--to", tgt.PoolID}, bad...), common...)...)
		if code != 2 {
			t.Errorf("restore %v: exit %d, want 2 (%s)", bad, code, errOut)
		}
	}
	code, _, errOut = run(t, ctx, append([]string{"restore", "--at", base.Start.Add(-time.Hour).Format(time.RFC3339), "--to", tgt.PoolID}, common...)...)
	if code != 2 || !strings.Contains(errOut, "no snapshot of pool") {
		t.Errorf("restore --at before the first snapshot: exit %d %s", code, errOut)
	}

	// Compact after the deletion: a derived snapshot without the user.
	code, out, errOut = run(t, ctx, append([]string{"journal", "compact", "--at", t2.Add(time.Minute).Format(time.RFC3339), "--output", "json"}, common...)...)
	var m snapshot.Manifest
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m.Derived == nil || m.Derived.Base != base.ID || m.Counts.Users != base.Counts.Users-1 {
		t.Fatalf("journal compact: exit %d\n%s\n%s", code, out, errOut)
	}

	// Retention: keep the newest, prune the rest and the events before it.
	if code, _, errOut := run(t, ctx, append([]string{"forget"}, common...)...); code != 2 || !strings.Contains(errOut, "--keep-last") {
		t.Errorf("forget without a rule: exit %d %s", code, errOut)
	}
	code, out, _ = run(t, ctx, append([]string{"forget", "--keep-last", "1", "--dry-run"}, common...)...)
	if code != 0 || !strings.Contains(out, base.ID) || !strings.Contains(out, "would be forgotten") {
		t.Fatalf("forget --dry-run: exit %d\n%s", code, out)
	}
	code, out, errOut = run(t, ctx, append([]string{"forget", "--keep-last", "1", "--prune", "--grace", "1ns"}, common...)...)
	if code != 0 || !strings.Contains(out, "1 snapshot(s) forgotten") || !strings.Contains(out, "2 journal event(s)") {
		t.Fatalf("forget --prune: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := run(t, ctx, append([]string{"snapshots", "--output", "json"}, common...)...); code != 0 || strings.Count(out, `"id"`) != 1 || !strings.Contains(out, m.ID) {
		t.Errorf("after forget: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, ctx, append([]string{"verify", m.ID}, common...)...); code != 0 {
		t.Errorf("the derived snapshot does not verify after prune: %s", out)
	}
	if code, out, _ := run(t, ctx, append([]string{"prune", "--dry-run", "--grace", "1ns"}, common...)...); code != 0 || !strings.Contains(out, "0 data object(s)") {
		t.Errorf("a second prune finds garbage: %s", out)
	}
}

func withoutAttr(as []snapshot.Attribute, name string) []snapshot.Attribute {
	var out []snapshot.Attribute
	for _, a := range as {
		if a.Name != name {
			out = append(out, a)
		}
	}
	return out
}
