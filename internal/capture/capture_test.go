package capture_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/backup"
	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/diff"
	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/quota"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
	"github.com/cogvault/cogvault/internal/storage/s3fake"
)

var ctx = context.Background()

// clock is the one clock of the fake Cognito and the handler, so that the
// modification dates Cognito stamps and the times events are observed at
// agree, as they do on AWS.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	srv     *cognitotest.Server
	api     *cip.Client
	pool    cognitotest.PopulateResult
	repo    *repo.Repo
	clock   *clock
	h       *capture.Handler
	cfg     capture.Config
	logs    *bytes.Buffer
	metrics *bytes.Buffer
}

func setup(t testing.TB, users int, mutate ...func(*capture.Config)) *env {
	t.Helper()
	// Real time, truncated: the S3 fake stamps objects with the wall clock,
	// and prune compares those stamps with the handler's clock.
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true, Now: clk.Now})
	pool, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "prod", Users: users, Groups: 3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	rates := quota.Rates{}
	for _, c := range quota.Categories() {
		rates[c] = 0
	}
	cfg, err := awsx.LoadConfig(ctx, awsx.Options{Region: "us-east-1", EndpointURL: srv.URL, Rates: rates, MaxBackoff: 10 * time.Millisecond,
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if err != nil {
		t.Fatal(err)
	}
	s3 := s3fake.New(t, "backups")
	store := s3.Store(t, "s3://backups/cogvault", storage.Options{KMSKeyID: "alias/cogvault"})
	e := &env{srv: srv, api: cip.NewFromConfig(cfg), pool: pool, repo: repo.New(store), clock: clk, logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	e.cfg = capture.Config{
		PoolID: pool.PoolID, Region: "us-east-1", Repo: e.repo, Cognito: e.api, ToolVersion: "test",
		Log: slog.New(slog.NewJSONHandler(e.logs, nil)), Metrics: e.metrics, Now: clk.Now,
		// The listing re-check waits on nothing: no test here lags unless
		// it says so (and then advances the clock itself).
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
	for _, m := range mutate {
		m(&e.cfg)
	}
	if e.h, err = capture.New(e.cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// confirmedUser creates a CONFIRMED user and returns its sub.
func (e *env) confirmedUser(t testing.TB, pool, name, email string) string {
	t.Helper()
	out, err := e.api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: &pool, Username: &name, MessageAction: types.MessageActionTypeSuppress,
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: &email}, {Name: aws.String("email_verified"), Value: aws.String("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: &pool, Username: &name, Password: aws.String("Very-long-pass-1"), Permanent: true}); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.User.Attributes {
		if *a.Name == "sub" {
			return *a.Value
		}
	}
	t.Fatal("no sub")
	return ""
}

type fields struct {
	Pool, Username, Sub, Email, ClientID, TriggerSource string
	ID, Time, EventName, ErrorCode, Group               string
	NoPool                                              bool // a record without userPoolId (self-service calls)
}

var templates = template.Must(template.ParseGlob(filepath.Join("testdata", "events", "*")))

func render(t testing.TB, name string, f fields) json.RawMessage {
	t.Helper()
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, f); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b.Bytes()) {
		t.Fatalf("%s does not render to JSON:\n%s", name, b.String())
	}
	return b.Bytes()
}

// trail renders an EventBridge CloudTrail event as Cognito records it:
// username and attribute values hidden, the sub in additionalEventData.
func (e *env) trail(t testing.TB, f fields) json.RawMessage {
	t.Helper()
	return e.renderTrail(t, "cloudtrail.json.tmpl", f)
}

func (e *env) renderTrail(t testing.TB, name string, f fields) json.RawMessage {
	t.Helper()
	if f.Pool == "" && !f.NoPool {
		f.Pool = e.pool.PoolID
	}
	if f.ID == "" {
		f.ID = fmt.Sprintf("0000%04d-0000-4000-8000-000000000000", e.clock.Now().Unix()%10000)
	}
	f.Time = e.clock.Now().Format(time.RFC3339)
	return render(t, name, f)
}

func (e *env) journal(t testing.TB) []*snapshot.Event {
	t.Helper()
	var out []*snapshot.Event
	for ent, err := range e.repo.Journal(ctx, e.pool.PoolID, time.Time{}, e.clock.Now().Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ent.Event)
	}
	return out
}

func TestPostConfirmationJournalsTheUserAndReturnsTheEvent(t *testing.T) {
	e := setup(t, 10)
	_, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	e.clock.Advance(time.Minute)
	sub := e.confirmedUser(t, e.pool.PoolID, "alice", "alice@example.com")
	for i, src := range []string{"PostConfirmation_ConfirmSignUp", "PostConfirmation_ConfirmForgotPassword"} {
		e.clock.Advance(time.Minute)
		ev := render(t, "post_confirmation.json.tmpl", fields{Pool: e.pool.PoolID, Username: "alice", Sub: sub, Email: "alice@example.com", ClientID: e.pool.ClientID, TriggerSource: src})
		out, err := e.h.Handle(ctx, ev)
		if err != nil || !bytes.Equal(out, ev) {
			t.Fatalf("%s: the trigger must return its event unchanged; got %s, %v", src, out, err)
		}
		events := e.journal(t)
		if len(events) != i+1 {
			t.Fatalf("%d journal events after %d triggers", len(events), i+1)
		}
		got := events[i]
		if got.Kind != snapshot.EventUser || got.Source != src || got.User.Sub != sub || got.User.Username != "alice" || got.User.Status != "CONFIRMED" {
			t.Errorf("journaled %+v", got)
		}
		if v, _ := got.User.Attr("email"); v != "alice@example.com" {
			t.Errorf("journaled email %q", v)
		}
		if !got.Time.Equal(e.clock.Now()) {
			t.Errorf("event time %s, want the observation time %s", got.Time, e.clock.Now())
		}
	}
	// Confirming twice leaves one alice in the state from then on.
	p, err := pitr.At(ctx, e.repo, e.pool.PoolID, e.clock.Now())
	must(t, err)
	scratch, _ := storage.NewDir(t.TempDir())
	m, err := p.Write(ctx, e.repo, scratch, pitr.Options{})
	must(t, err)
	if p.Events != 2 || m.Counts.Users != 11 {
		t.Errorf("state from %d events holds %d users, want 11 (10 + alice once)", p.Events, m.Counts.Users)
	}
	if strings.Contains(e.logs.String(), "alice@example.com") || strings.Contains(e.logs.String(), sub) {
		t.Errorf("logs hold the user's email or sub:\n%s", e.logs)
	}
	if !strings.Contains(e.metrics.String(), `"CapturedUsers":1`) {
		t.Errorf("no CapturedUsers metric:\n%s", e.metrics)
	}
}

// failingStore refuses every write, like a bucket policy gone wrong.
type failingStore struct{ storage.Store }

func (failingStore) Put(context.Context, string, io.Reader) error {
	return fmt.Errorf("put journal/x/alice@example.com: %w", storage.ErrPermission)
}

func TestPostConfirmationNeverFailsTheSignUp(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*capture.Config)
		fault   *cognitotest.Fault
		pool    string
		journal bool // whether the user still reaches the journal
	}{
		{name: "repository refuses the write", mutate: func(c *capture.Config) { c.Repo = repo.New(failingStore{c.Repo.Store}) }},
		{name: "AdminGetUser fails", fault: &cognitotest.Fault{Operation: "AdminGetUser", Kind: cognitotest.FaultServerError, Count: 100}, journal: true},
		// The read gets half the budget; the write keeps the rest, which
		// must be enough for a PUT even on a loaded CI machine under -race.
		{name: "AdminGetUser outlives the budget", mutate: func(c *capture.Config) { c.TriggerBudget = 2 * time.Second },
			fault: &cognitotest.Fault{Operation: "AdminGetUser", Kind: cognitotest.FaultLatency, Latency: 10 * time.Second, Count: 100}, journal: true},
		{name: "event of another pool", pool: "us-east-1_Other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mutate []func(*capture.Config)
			if c.mutate != nil {
				mutate = append(mutate, c.mutate)
			}
			e := setup(t, 5, mutate...)
			sub := e.confirmedUser(t, e.pool.PoolID, "bob", "bob@example.com")
			if c.fault != nil {
				defer e.srv.InjectFault(*c.fault)()
			}
			pool := c.pool
			if pool == "" {
				pool = e.pool.PoolID
			}
			ev := render(t, "post_confirmation.json.tmpl", fields{Pool: pool, Username: "bob", Sub: sub, Email: "bob@example.com", ClientID: e.pool.ClientID, TriggerSource: "PostConfirmation_ConfirmSignUp"})
			out, err := e.h.Handle(ctx, ev)
			if err != nil || !bytes.Equal(out, ev) {
				t.Fatalf("the sign-up would fail: %s, %v", out, err)
			}
			events := e.journal(t)
			switch {
			case c.journal && len(events) != 1:
				t.Fatalf("want the user journaled from the event's attributes, got %d events", len(events))
			case c.journal:
				u := events[0].User
				if v, _ := u.Attr("email"); v != "bob@example.com" || u.Sub != sub || slices.ContainsFunc(u.Attributes, func(a snapshot.Attribute) bool { return strings.HasPrefix(a.Name, "cognito:") }) {
					t.Errorf("fallback record %+v", u)
				}
			case !c.journal:
				if len(events) != 0 {
					t.Errorf("journaled %d events", len(events))
				}
				if !strings.Contains(e.metrics.String(), `"CaptureFailures":1`) {
					t.Errorf("no CaptureFailures metric:\n%s", e.metrics)
				}
			}
			if strings.Contains(e.logs.String(), "bob@example.com") || strings.Contains(e.logs.String(), sub) {
				t.Errorf("logs hold PII:\n%s", e.logs)
			}
		})
	}
}

func TestCloudTrailEventsAreReReadAndJournaled(t *testing.T) {
	e := setup(t, 5)
	pool := e.pool.PoolID
	sub := e.confirmedUser(t, pool, "carol", "carol@example.com")
	if _, err := e.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String("staff")}); err != nil {
		t.Fatal(err)
	}
	hiddenUser := "HIDDEN_DUE_TO_SECURITY_REASONS"
	type want struct {
		kind, source string
		check        func(t *testing.T, ev *snapshot.Event)
	}
	steps := []struct {
		name   string
		change func()
		event  fields
		want   *want // nil: nothing journaled
	}{
		{"attributes updated", func() {
			_, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: aws.String("carol"),
				UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String("Carol Two")}}})
			must(t, err)
		}, fields{EventName: "AdminUpdateUserAttributes", Username: hiddenUser, Sub: sub},
			&want{snapshot.EventUser, "AdminUpdateUserAttributes", func(t *testing.T, ev *snapshot.Event) {
				if v, _ := ev.User.Attr("name"); v != "Carol Two" || !ev.GroupsKnown || len(ev.Groups) != 0 {
					t.Errorf("state %+v groups %v", ev.User, ev.Groups)
				}
			}}},
		{"added to a group", func() {
			_, err := e.api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, Username: aws.String("carol"), GroupName: aws.String("staff")})
			must(t, err)
		}, fields{EventName: "AdminAddUserToGroup", Username: hiddenUser, Sub: sub, Group: "staff"},
			&want{snapshot.EventUser, "AdminAddUserToGroup", func(t *testing.T, ev *snapshot.Event) {
				if !slices.Equal(ev.Groups, []string{"staff"}) {
					t.Errorf("groups %v", ev.Groups)
				}
			}}},
		{"a failed call changes nothing", func() {}, fields{EventName: "AdminDeleteUser", Sub: sub, ErrorCode: "NotAuthorizedException"}, nil},
		{"another pool", func() {}, fields{EventName: "AdminDeleteUser", Sub: sub, Pool: "us-east-1_Other"}, nil},
		{"a read", func() {}, fields{EventName: "ListUsers"}, nil},
		{"no user named", func() {}, fields{EventName: "AdminDisableUser", Username: hiddenUser}, nil},
		{"group deleted", func() {
			_, err := e.api.DeleteGroup(ctx, &cip.DeleteGroupInput{UserPoolId: &pool, GroupName: aws.String("staff")})
			must(t, err)
		}, fields{EventName: "DeleteGroup", Group: "staff"}, &want{snapshot.EventGroupDeleted, "DeleteGroup", nil}},
		{"group created", func() {
			_, err := e.api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: &pool, GroupName: aws.String("ops"), Precedence: aws.Int32(3)})
			must(t, err)
		}, fields{EventName: "CreateGroup", Group: "ops"}, &want{snapshot.EventGroup, "CreateGroup", func(t *testing.T, ev *snapshot.Event) {
			if ev.Group.Precedence == nil || *ev.Group.Precedence != 3 {
				t.Errorf("group %+v", ev.Group)
			}
		}}},
		{"user deleted", func() {
			_, err := e.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &pool, Username: aws.String("carol")})
			must(t, err)
		}, fields{EventName: "AdminDeleteUser", Username: hiddenUser, Sub: sub}, &want{snapshot.EventUserDeleted, "AdminDeleteUser", func(t *testing.T, ev *snapshot.Event) {
			if ev.Sub != sub {
				t.Errorf("tombstone for %q", ev.Sub)
			}
		}}},
		{"user deleted, known by username only", func() {}, fields{EventName: "AdminDeleteUser", Username: "gone-user"},
			&want{snapshot.EventUserDeleted, "AdminDeleteUser", func(t *testing.T, ev *snapshot.Event) {
				if ev.Sub != "" || ev.Username != "gone-user" {
					t.Errorf("tombstone %+v", ev)
				}
			}}},
	}
	e.srv.ResetStats()
	seen := 0
	for i, s := range steps {
		e.clock.Advance(time.Minute)
		s.change()
		s.event.ID = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		if _, err := e.h.Handle(ctx, e.trail(t, s.event)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		events := e.journal(t)
		if s.want == nil {
			if len(events) != seen {
				t.Errorf("%s: journaled %d events, want none", s.name, len(events)-seen)
			}
			continue
		}
		if len(events) != seen+1 {
			t.Fatalf("%s: %d new events, want 1", s.name, len(events)-seen)
		}
		seen++
		ev := events[len(events)-1]
		if ev.Kind != s.want.kind || ev.Source != s.want.source || ev.EventID != s.event.ID || !ev.ChangeTime.Equal(e.clock.Now().Truncate(time.Second)) {
			t.Errorf("%s: journaled %s from %s (id %s, change time %s)", s.name, ev.Kind, ev.Source, ev.EventID, ev.ChangeTime)
		}
		if s.want.check != nil {
			s.want.check(t, ev)
		}
	}
	if !strings.Contains(e.metrics.String(), `"UnresolvedEvents":1`) {
		t.Errorf("the event naming no user was not counted:\n%s", e.metrics)
	}
	// A local user is read by its sub: only the deleted one needs a
	// ListUsers (the UserList quota is the backups'), twice: one empty
	// listing never makes a tombstone.
	if n := e.srv.OpStats("ListUsers").Calls; n != 2 {
		t.Errorf("%d ListUsers calls, want 2 (for the deleted user, listed again after a pause)", n)
	}
	if strings.Contains(e.logs.String(), "carol@example.com") || strings.Contains(e.logs.String(), "Carol Two") {
		t.Errorf("logs hold attribute values:\n%s", e.logs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestScheduledSnapshotAppliesRetention(t *testing.T) {
	e := setup(t, 20, func(c *capture.Config) {
		c.Retention = snapshot.Policy{Last: 2}
		c.PruneGrace = time.Hour
	})
	scheduled := render(t, "scheduled.json", fields{})
	var ids []string
	for range 3 {
		out, err := e.h.Handle(ctx, scheduled)
		if err != nil {
			t.Fatal(err)
		}
		var res capture.SnapshotResult
		must(t, json.Unmarshal(out, &res))
		if res.Counts.Users != 20 {
			t.Errorf("snapshot holds %d users, want 20", res.Counts.Users)
		}
		ids = append(ids, res.Snapshot)
		e.clock.Advance(24 * time.Hour)
	}
	all, _, err := e.repo.Snapshots(ctx)
	must(t, err)
	var left []string
	for _, m := range all {
		left = append(left, m.ID)
		if v, err := e.repo.Verify(ctx, m); err != nil || !v.OK() {
			t.Errorf("snapshot %s does not verify: %v %+v", m.ID, err, v)
		}
	}
	if !slices.Equal(left, ids[1:]) {
		t.Errorf("snapshots left %v, want the two newest of %v", left, ids)
	}
	for o, err := range e.repo.Store.List(ctx, snapshot.DataKey(ids[0], "")) {
		must(t, err)
		t.Errorf("data of the forgotten snapshot left behind: %s", o.Key)
	}
}

func TestPointInTimeRestoreBetweenTwoChanges(t *testing.T) {
	e := setup(t, 30)
	pool := e.pool.PoolID
	dave := e.confirmedUser(t, pool, "dave", "dave@example.com")
	erin := e.confirmedUser(t, pool, "erin", "erin@example.com")
	// The scheduled snapshot, then two changes an hour apart, each seen
	// through CloudTrail.
	_, err := e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	setName := func(user, name string) {
		_, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: &user,
			UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: &name}}})
		must(t, err)
	}
	e.clock.Advance(time.Hour)
	setName("dave", "Dave One")
	_, err = e.h.Handle(ctx, e.trail(t, fields{EventName: "AdminUpdateUserAttributes", Username: "HIDDEN_DUE_TO_SECURITY_REASONS", Sub: dave, ID: "11111111-0000-4000-8000-000000000001"}))
	must(t, err)

	// Between the changes: what a backup would have read at this moment.
	e.clock.Advance(30 * time.Minute)
	between := e.clock.Now()
	truthStore, _ := storage.NewDir(t.TempDir())
	truth, err := backup.Run(ctx, e.api, truthStore, backup.Options{PoolID: pool, Now: e.clock.Now}, nil)
	must(t, err)

	e.clock.Advance(30 * time.Minute)
	setName("dave", "Dave Two")
	_, err = e.h.Handle(ctx, e.trail(t, fields{EventName: "AdminUpdateUserAttributes", Sub: dave, ID: "22222222-0000-4000-8000-000000000002"}))
	must(t, err)
	_, err = e.api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: &pool, Username: aws.String("erin")})
	must(t, err)
	_, err = e.h.Handle(ctx, e.trail(t, fields{EventName: "AdminDeleteUser", Sub: erin, ID: "33333333-0000-4000-8000-000000000003"}))
	must(t, err)
	e.clock.Advance(time.Hour)

	// The state at "between" computed from the snapshot and the journal is
	// exactly what the backup read then.
	p, err := pitr.At(ctx, e.repo, pool, between)
	must(t, err)
	scratch, _ := storage.NewDir(t.TempDir())
	m, err := p.Write(ctx, e.repo, scratch, pitr.Options{})
	must(t, err)
	rep, err := diff.Compare(ctx, diff.SnapshotSource{Repo: repo.New(truthStore), Manifest: truth}, diff.SnapshotSource{Repo: repo.New(scratch), Manifest: m}, diff.Options{})
	must(t, err)
	if !rep.Empty() {
		t.Errorf("state at %s differs from what a backup read then: %+v", between, rep)
	}

	// The Lambda's restore action lands that state in a fresh pool.
	target, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "restored", Seed: 9})
	must(t, err)
	out, err := e.h.Handle(ctx, []byte(fmt.Sprintf(`{"action":"restore","at":%q,"targetPoolId":%q}`, between.Format(time.RFC3339Nano), target.PoolID)))
	must(t, err)
	var report struct {
		UsersCreate int
		NotRestored []struct{ Count int } // counted, without names
	}
	must(t, json.Unmarshal(out, &report))
	notRestored := 0
	for _, c := range report.NotRestored {
		notRestored += c.Count
	}
	// Restoring what the backup read then gives the same outcome.
	other, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: "other", Seed: 10})
	must(t, err)
	want, err := restore.Run(ctx, e.api, repo.New(truthStore), truth, restore.Options{Target: other.PoolID, StatePath: filepath.Join(t.TempDir(), "state")}, nil)
	must(t, err)
	if report.UsersCreate != want.UsersCreate || notRestored != len(want.NotRestored) || report.UsersCreate == 0 {
		t.Errorf("restore at %s created %d users (%d not restored); restoring the backup read then created %d (%d)",
			between, report.UsersCreate, notRestored, want.UsersCreate, len(want.NotRestored))
	}
	for user, want := range map[string]string{"dave": "Dave One", "erin": ""} {
		got, err := e.api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &target.PoolID, Username: aws.String(user)})
		if err != nil {
			t.Fatalf("%s is missing from the restored pool: %v", user, err)
		}
		name := ""
		for _, a := range got.UserAttributes {
			if *a.Name == "name" {
				name = *a.Value
			}
		}
		if name != want {
			t.Errorf("%s's name in the restored pool = %q, want %q", user, name, want)
		}
	}
}

func TestUnknownEvents(t *testing.T) {
	e := setup(t, 1)
	for _, ev := range []string{`{"foo":1}`, `[1,2]`, `{"detail-type":"AWS API Call via CloudTrail","source":"aws.s3"}`} {
		if _, err := e.h.Handle(ctx, []byte(ev)); !errors.Is(err, capture.ErrUnknownEvent) {
			t.Errorf("%s: err = %v, want ErrUnknownEvent", ev, err)
		}
	}
	// Another trigger wired to the function by mistake must not block users.
	ev := []byte(`{"triggerSource":"PreSignUp_SignUp","userPoolId":"x","request":{}}`)
	if out, err := e.h.Handle(ctx, ev); err != nil || !bytes.Equal(out, ev) {
		t.Errorf("foreign trigger: %s, %v", out, err)
	}
	for _, bad := range []string{`{"action":"restore","snapshot":"latest","at":"2026-11-24T10:00:00Z"}`, `{"action":"restore","unknown":1}`, `{"action":"restore","at":"yesterday"}`} {
		if _, err := e.h.Handle(ctx, []byte(bad)); err == nil || !strings.Contains(err.Error(), "restore request") {
			t.Errorf("%s: err = %v, want a restore request error", bad, err)
		}
	}
}

// TestIAMActionsCoverWhatTheCodeCalls runs every mode against the fake and
// checks that it calls only what capture.Actions (and so the Terraform
// module's policy) grants.
func TestIAMActionsCoverWhatTheCodeCalls(t *testing.T) {
	e := setup(t, 40, func(c *capture.Config) { c.ImportRoleArn = "arn:aws:iam::123456789012:role/CognitoImport" })
	pool := e.pool.PoolID
	called := func() []string {
		var ops []string
		for op, st := range e.srv.Stats() {
			if st.Calls > 0 {
				ops = append(ops, "cognito-idp:"+op)
			}
		}
		slices.Sort(ops)
		e.srv.ResetStats()
		return ops
	}
	check := func(mode string, ops []string) {
		t.Helper()
		if len(ops) == 0 {
			t.Fatalf("%s: called nothing", mode)
		}
		for _, op := range ops {
			if !slices.Contains(capture.Actions[mode], op) {
				t.Errorf("%s calls %s, which capture.Actions[%q] (and the Terraform policy) does not grant", mode, op, mode)
			}
		}
		t.Logf("%s calls %v", mode, ops)
	}

	sub := e.confirmedUser(t, pool, "frank", "frank@example.com")
	e.srv.ResetStats()
	_, err := e.h.Handle(ctx, render(t, "post_confirmation.json.tmpl", fields{Pool: pool, Username: "frank", Sub: sub, Email: "frank@example.com", TriggerSource: "PostConfirmation_ConfirmSignUp"}))
	must(t, err)
	for i, f := range []fields{
		{EventName: "AdminUpdateUserAttributes", Username: "HIDDEN_DUE_TO_SECURITY_REASONS", Sub: sub},
		{EventName: "CreateGroup", Group: "g1"},
		{EventName: "AdminDeleteUser", Sub: "00000000-0000-4000-8000-00000000dead"},
	} {
		f.ID = fmt.Sprintf("%08d-aaaa-4000-8000-000000000000", i)
		_, err := e.h.Handle(ctx, e.trail(t, f))
		must(t, err)
	}
	check("capture", called())

	_, err = e.h.Handle(ctx, []byte(`{"action":"snapshot"}`))
	must(t, err)
	check("snapshot", called())

	for i, via := range []string{restore.ViaAdmin, restore.ViaImport} {
		target, err := e.srv.Populate(cognitotest.PopulateOptions{PoolName: fmt.Sprint("t", i), Seed: uint64(20 + i)})
		must(t, err)
		e.srv.ResetStats()
		_, err = e.h.Handle(ctx, []byte(fmt.Sprintf(`{"action":"restore","targetPoolId":%q,"via":%q}`, target.PoolID, via)))
		must(t, err)
		check("restore", called())
	}
	for mode, actions := range capture.Actions {
		if !slices.IsSorted(actions) || len(slices.Compact(slices.Clone(actions))) != len(actions) {
			t.Errorf("capture.Actions[%q] is not sorted and unique", mode)
		}
	}
}

// TestSelfServiceConfirmationFromManagedLogin feeds the developer guide's
// documented Confirm_POST record (a user entering their sign-up code in the
// hosted UI: an AwsServiceEvent naming the pool and the sub only in
// additionalEventData, the sub as a one-element list) and expects the user
// journaled as confirmed.
func TestSelfServiceConfirmationFromManagedLogin(t *testing.T) {
	e := setup(t, 3)
	pool := e.pool.PoolID
	out, err := e.api.SignUp(ctx, &cip.SignUpInput{ClientId: &e.pool.ClientID, Username: aws.String("gina"), Password: aws.String("Very-long-pass-1"),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("gina@example.com")}}})
	must(t, err)
	// What the user's code entry did; the fake has no hosted UI.
	_, err = e.api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: &pool, Username: aws.String("gina")})
	must(t, err)
	e.clock.Advance(time.Minute)
	ev := e.renderTrail(t, "cloudtrail_confirm_post.json.tmpl", fields{Sub: *out.UserSub, ClientID: e.pool.ClientID, ID: "e24ac6e5-2f70-4c6e-ad4e-2f08a547bb36"})
	if _, err := e.h.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	events := e.journal(t)
	if len(events) != 1 {
		t.Fatalf("%d journal events, want the confirmed user", len(events))
	}
	got := events[0]
	if got.Kind != snapshot.EventUser || got.Source != "Confirm_POST" || got.User.Sub != *out.UserSub || got.User.Status != "CONFIRMED" || got.EventID != "e24ac6e5-2f70-4c6e-ad4e-2f08a547bb36" {
		t.Errorf("journaled %s from %s: %+v", got.Kind, got.Source, got.User)
	}
	if strings.Contains(e.logs.String(), "gina@example.com") {
		t.Errorf("logs hold the email:\n%s", e.logs)
	}
}

// TestSelfServiceCallsWithoutAPoolID: self-service calls (authorised by the
// user's access token) carry no requestParameters.userPoolId. The sub is
// looked up in the function's pool: a user there is journaled; a sub that is
// not there (another pool's user, or one deleted) writes nothing, not even a
// tombstone, and is counted as unresolved.
func TestSelfServiceCallsWithoutAPoolID(t *testing.T) {
	e := setup(t, 3)
	pool := e.pool.PoolID
	sub := e.confirmedUser(t, pool, "hank", "hank@example.com")
	_, err := e.api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: &pool, Username: aws.String("hank"),
		UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String("Hank Two")}}})
	must(t, err)
	e.clock.Advance(time.Minute)
	_, err = e.h.Handle(ctx, e.trail(t, fields{EventName: "UpdateUserAttributes", Sub: sub, NoPool: true, ID: "aaaaaaaa-0000-4000-8000-000000000001"}))
	must(t, err)
	events := e.journal(t)
	if len(events) != 1 || events[0].Kind != snapshot.EventUser || events[0].User.Sub != sub {
		t.Fatalf("journal after a self-service update: %+v", events)
	}
	if v, _ := events[0].User.Attr("name"); v != "Hank Two" {
		t.Errorf("journaled name %q", v)
	}
	for i, f := range []fields{
		{EventName: "DeleteUser", Sub: "00000000-0000-4000-8000-0000000000aa", NoPool: true}, // not in this pool
		{EventName: "UpdateUserAttributes", NoPool: true},                                    // no sub either
	} {
		f.ID = fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i)
		_, err = e.h.Handle(ctx, e.trail(t, f))
		must(t, err)
	}
	if n := len(e.journal(t)); n != 1 {
		t.Errorf("%d journal events, want still 1: an unknown sub must not become a tombstone", n)
	}
	if !strings.Contains(e.metrics.String(), `"UnresolvedEvents":1`) {
		t.Errorf("unresolved self-service events were not counted:\n%s", e.metrics)
	}
}

// The rule's self-service list must name only calls the handler journals.
func TestSelfServiceChangesAreJournaled(t *testing.T) {
	e := setup(t, 1)
	pool := e.pool.PoolID
	sub := e.confirmedUser(t, pool, "ivy", "ivy@example.com")
	for i, name := range capture.SelfServiceChanges {
		e.clock.Advance(time.Second)
		_, err := e.h.Handle(ctx, e.trail(t, fields{EventName: name, Sub: sub, NoPool: true, ID: fmt.Sprintf("cccccccc-0000-4000-8000-%012d", i)}))
		must(t, err)
		if n := len(e.journal(t)); n != i+1 {
			t.Errorf("%s: %d journal events after %d self-service calls", name, n, i+1)
		}
	}
}

// TestRefusedPermissionFailsTheEventOnce: when IAM refuses the re-read (a
// policy missing AdminGetUser), the CloudTrail event fails with the refusal's
// class, is counted, is not retried, and the log names neither the user nor
// the caller's ARN.
func TestRefusedPermissionFailsTheEventOnce(t *testing.T) {
	e := setup(t, 2)
	sub := e.confirmedUser(t, e.pool.PoolID, "jill", "jill@example.com")
	defer e.srv.DenyActions("AdminGetUser")()
	e.srv.ResetStats()
	_, err := e.h.Handle(ctx, e.trail(t, fields{EventName: "AdminUpdateUserAttributes", Sub: sub, ID: "dddddddd-0000-4000-8000-000000000001"}))
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("err = %v, want the refusal's class", err)
	}
	if n := e.srv.OpStats("AdminGetUser").Calls; n != 1 {
		t.Errorf("%d AdminGetUser calls: a refusal must not be retried", n)
	}
	if len(e.journal(t)) != 0 || !strings.Contains(e.metrics.String(), `"CaptureFailures":1`) {
		t.Errorf("journal %d events; metrics:\n%s", len(e.journal(t)), e.metrics)
	}
	if strings.Contains(e.logs.String(), sub) || strings.Contains(e.logs.String(), "assumed-role") {
		t.Errorf("logs hold the sub or the caller:\n%s", e.logs)
	}
}
