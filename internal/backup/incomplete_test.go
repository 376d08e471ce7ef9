package backup_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// warnings collects Options.Warn messages.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(m string) { w.mu.Lock(); w.msgs = append(w.msgs, m); w.mu.Unlock() }
func (w *warnings) all() string  { w.mu.Lock(); defer w.mu.Unlock(); return strings.Join(w.msgs, "\n") }

// usersIn counts the users a snapshot's data objects hold.
func usersIn(t *testing.T, e *env, m *snapshot.Manifest) int {
	t.Helper()
	n := 0
	for _, err := range repo.New(e.store).Users(ctx, m) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// A refused optional read (IAM denies it, or the Region lacks it) keeps the
// snapshot with every user, names the gap, warns, and is asked once: a
// refusal is not retried.
func TestRefusedOptionalReadKeepsTheSnapshot(t *testing.T) {
	cases := []struct{ op, code, gap string }{
		{"GetUICustomization", "AccessDeniedException", backup.GapUI},
		{"DescribeUserPoolDomain", "AccessDeniedException", backup.GapDomain},
		{"GetUserPoolMfaConfig", "AccessDeniedException", backup.GapMFA},
		{"ListResourceServers", "OperationNotEnabledException", backup.GapResourceServers},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			e := setup(t, cognitotest.Options{NoQuotas: true}, 300, 4, awsx.Options{})
			if _, err := e.api.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &e.pool.PoolID, Domain: aws.String("cogvault-test")}); err != nil {
				t.Fatal(err)
			}
			e.srv.InjectFault(cognitotest.Fault{Operation: c.op, Kind: cognitotest.FaultError, Code: c.code})
			var w warnings
			m, err := e.backup(t, backup.Options{Warn: w.add})
			if err != nil {
				t.Fatalf("a refused %s threw the backup away: %v", c.op, err)
			}
			if m.Complete() || len(m.Incomplete) != 1 || m.Incomplete[0].What != c.gap || m.Incomplete[0].Why != c.code {
				t.Fatalf("Incomplete = %+v, want one %s gap saying %s", m.Incomplete, c.gap, c.code)
			}
			if m.Counts.Users != 300 || usersIn(t, e, m) != 300 {
				t.Fatalf("snapshot holds %d users (manifest %d), want 300", usersIn(t, e, m), m.Counts.Users)
			}
			if got := w.all(); !strings.Contains(got, c.gap) || !strings.Contains(got, c.code) {
				t.Fatalf("warning %q does not name %s and %s", got, c.gap, c.code)
			}
			if st := e.srv.OpStats(c.op); st.Calls != 1 {
				t.Fatalf("%s called %d times: a refusal must not be retried", c.op, st.Calls)
			}
		})
	}
}

// A 500 on an optional read is not a refusal: after its retries it still
// fails the backup, and no snapshot claims to be what it is not.
func TestServerErrorOnOptionalReadStillFails(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 50, 1, awsx.Options{MaxAttempts: 2})
	e.srv.InjectFault(cognitotest.Fault{Operation: "GetUserPoolMfaConfig", Kind: cognitotest.FaultServerError})
	if _, err := e.backup(t, backup.Options{}); err == nil {
		t.Fatal("backup succeeded although GetUserPoolMfaConfig answered 500")
	}
}

// Users, groups and memberships are never optional: a refused ListUsers
// fails the backup.
func TestRefusedUserListingFailsTheBackup(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 50, 1, awsx.Options{})
	e.srv.InjectFault(cognitotest.Fault{Operation: "ListUsersInGroup", Kind: cognitotest.FaultError, Code: "AccessDeniedException"})
	if _, err := e.backup(t, backup.Options{}); err == nil || cognito.Code(err) != "AccessDeniedException" {
		t.Fatalf("backup with memberships refused: %v, want the AccessDeniedException", err)
	}
}

// A pool that refuses `sub ^=` gets one unsharded chain: complete, with a
// notice.
func TestRefusedShardFilterFallsBackToOneChain(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 700, 3, awsx.Options{})
	e.srv.SetSubPrefix(cognitotest.SubPrefixRefused)
	var w warnings
	m, err := e.backup(t, backup.Options{Warn: w.add, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Complete() || m.Counts.Users != 700 || usersIn(t, e, m) != 700 {
		t.Fatalf("fallback snapshot: %d users, incomplete %+v", m.Counts.Users, m.Incomplete)
	}
	if got := w.all(); !strings.Contains(got, "unsharded") || strings.Count(got, "unsharded") != 1 {
		t.Fatalf("want one notice of the fallback, got %q", got)
	}
}

// A listing clearly short of EstimatedNumberOfUsers (here: a pool where
// `sub ^=` silently matches nothing) is marked incomplete with the numbers.
func TestListingShortOfTheEstimateIsIncomplete(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 400, 2, awsx.Options{})
	e.srv.SetSubPrefix(cognitotest.SubPrefixMatchesNothing)
	var w warnings
	m, err := e.backup(t, backup.Options{Warn: w.add})
	if err != nil {
		t.Fatal(err)
	}
	if m.Complete() || m.Incomplete[0].What != backup.GapUsers || !strings.Contains(m.Incomplete[0].Why, "listed 0 users, but the pool estimates 400") {
		t.Fatalf("Incomplete = %+v", m.Incomplete)
	}
	if !strings.Contains(w.all(), "400") {
		t.Fatalf("warning %q lacks the numbers", w.all())
	}
}

// Shards that cover half the subs: short by far more than 1 % and 10 users.
// Shards that cover all of them but one user's worth are not flagged.
func TestShortOfTheEstimateThreshold(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 400, 2, awsx.Options{})
	m, err := e.backup(t, backup.Options{Filters: cognito.SubShards()[:8]})
	if err != nil {
		t.Fatal(err)
	}
	if m.Complete() {
		t.Fatalf("half the shards (%d users of 400) passed for complete", m.Counts.Users)
	}
	m, err = e.backup(t, backup.Options{})
	if err != nil || !m.Complete() {
		t.Fatalf("full backup: %v, incomplete %+v", err, m.Incomplete)
	}
}

// Under a listing lag a changed user is listed twice (as it was, and at a
// second place as it is): the backup writes each user once, and counts the
// repeats it dropped.
func TestBackupUnderListingLagWritesEachUserOnce(t *testing.T) {
	e := setup(t, cognitotest.Options{NoQuotas: true}, 600, 2, awsx.Options{})
	e.srv.SetListingLag(time.Hour)
	var names []*string
	for u, err := range cognito.Users(ctx, e.api, e.pool.PoolID, "") {
		if err != nil {
			t.Fatal(err)
		}
		if names = append(names, u.Username); len(names) == 100 {
			break
		}
	}
	for _, name := range names {
		if _, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &e.pool.PoolID, Username: name,
			UserAttributes: []types.AttributeType{{Name: aws.String("given_name"), Value: aws.String("Changed")}}}); err != nil {
			t.Fatal(err)
		}
	}
	stats := &backup.Stats{}
	m, err := backup.Run(ctx, e.api, e.store, backup.Options{PoolID: e.pool.PoolID}, stats)
	if err != nil {
		t.Fatal(err)
	}
	if m.Counts.Users != 600 || usersIn(t, e, m) != 600 || !m.Complete() {
		t.Fatalf("snapshot of %d users (%d stored), incomplete %+v; want 600", m.Counts.Users, usersIn(t, e, m), m.Incomplete)
	}
	if d := stats.Duplicates.Load(); d != 100 {
		t.Fatalf("%d repeats dropped, want the 100 changed users' second places", d)
	}
}
