package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/cli"
	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/quota"
)

const (
	region = "us-east-1"
	// serverScale multiplies the fake's quotas: pacing and throttling are
	// real, runs are short.
	serverScale = 50
	// fakeSeed and poolSeed make every fake in this package generate the
	// same source pool, so states can be compared across servers.
	fakeSeed = 11
	poolSeed = 3
	// poolUsers and poolGroups size the source pool of the crash tests.
	poolUsers  = 600
	poolGroups = 20
)

// tb is what the helpers need of a test: *testing.T, or a bgT running a
// scenario in the background.
type tb interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Fatal(args ...any)
	Skip(args ...any)
	Cleanup(func())
	TempDir() string
}

var (
	longTier = os.Getenv("COGVAULT_FAULT_LONG") == "1"

	// binEnv is the whole environment of a cogvault subprocess: fake
	// credentials and no AWS configuration of the machine's.
	binEnv []string
)

// isolateProcess points the AWS SDK of this process (the in-process CLI)
// and of every subprocess away from the machine's AWS setup. It runs once,
// in TestMain, so that tests may run in parallel.
func isolateProcess(home string) error {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "COGVAULT_REPO" {
			if err := os.Unsetenv(k); err != nil {
				return err
			}
		}
	}
	set := map[string]string{
		"HOME":                        home,
		"XDG_STATE_HOME":              home + "/state", // restore's side files, never the developer's
		"AWS_ACCESS_KEY_ID":           "fake",
		"AWS_SECRET_ACCESS_KEY":       "fake",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	}
	for k, v := range set {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
		binEnv = append(binEnv, k+"="+v)
	}
	// An in-process backup lowers the garbage collector's target for the
	// whole process (cli.runBackup: SetGCPercent(25) unless GOGC is set),
	// and the scenarios here run many side by side: keep the default.
	if os.Getenv("GOGC") == "" {
		if err := os.Setenv("GOGC", "100"); err != nil {
			return err
		}
	}
	for _, k := range []string{"PATH", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			binEnv = append(binEnv, k+"="+v)
		}
	}
	// A binary built with -race sleeps a second at exit by default, for
	// reports from other threads; every run here would pay it.
	binEnv = append(binEnv, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return nil
}

// newRand returns the random source of one scenario, seeded from
// COGVAULT_FAULT_SEED (or the clock) and the scenario's name, and logs the
// seed so a failing run can be replayed.
func newRand(t tb) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COGVAULT_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COGVAULT_FAULT_SEED=%q: %v", s, err)
		}
		seed = v
	}
	h := fnv.New64a()
	h.Write([]byte(t.Name()))
	t.Logf("random kill points: COGVAULT_FAULT_SEED=%d", seed)
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// ---- the summary table ----

type row struct {
	Scenario           string
	Injected, Survived int
	Result             string
}

var summary struct {
	mu   sync.Mutex
	rows []row
}

// scenario is one line of the summary. Tests fill Injected, Survived and
// Detail; the result (ok, FAILED, skipped) is decided when the test ends.
type scenario struct {
	name               string
	Injected, Survived int
	Detail             string
}

func newScenario(t *testing.T, name string) *scenario {
	s := &scenario{name: name}
	t.Cleanup(func() {
		res := "ok"
		switch {
		case t.Failed():
			res = "FAILED"
		case t.Skipped():
			res = "skipped"
		}
		if s.Detail != "" {
			res += ": " + s.Detail
		}
		t.Logf("SUMMARY | %s | injected %d | survived %d | %s", s.name, s.Injected, s.Survived, res)
		summary.mu.Lock()
		summary.rows = append(summary.rows, row{s.name, s.Injected, s.Survived, res})
		summary.mu.Unlock()
	})
	return s
}

func printSummary() {
	summary.mu.Lock()
	defer summary.mu.Unlock()
	if len(summary.rows) == 0 {
		return
	}
	sort.Slice(summary.rows, func(i, j int) bool { return summary.rows[i].Scenario < summary.rows[j].Scenario })
	w := 8
	for _, r := range summary.rows {
		w = max(w, len(r.Scenario))
	}
	fmt.Printf("\nfault matrix (tier %s)\n", map[bool]string{false: "short", true: "long"}[longTier])
	fmt.Printf("%-*s  %8s  %8s  %s\n", w, "scenario", "injected", "survived", "result")
	for _, r := range summary.rows {
		fmt.Printf("%-*s  %8d  %8d  %s\n", w, r.Scenario, r.Injected, r.Survived, r.Result)
	}
}

// ---- the fake Cognito ----

// newServer starts an empty fake Cognito with quotas on (×serverScale).
func newServer(t tb) *cognitotest.Server {
	t.Helper()
	return cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: serverScale, Seed: fakeSeed})
}

// newFake starts a fake Cognito holding the generated source pool (the
// same seeds give the same pool on every server).
func newFake(t tb, users, groups int) (*cognitotest.Server, cognitotest.PopulateResult) {
	t.Helper()
	srv := newServer(t)
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "faulttest-source", Users: users, Groups: groups, Seed: poolSeed})
	if err != nil {
		t.Fatal(err)
	}
	return srv, res
}

// newTarget creates an empty pool with the source's schema (custom
// attributes, case-insensitive usernames, the Google provider), as the demo
// creates its restore target.
func newTarget(t tb, srv *cognitotest.Server, name string) string {
	t.Helper()
	res, err := srv.Populate(cognitotest.PopulateOptions{PoolName: name, Seed: poolSeed + 1})
	if err != nil {
		t.Fatal(err)
	}
	return res.PoolID
}

// rateFlags paces the CLI at scale × Cognito's default quotas.
func rateFlags(scale float64) []string {
	var out []string
	for _, c := range quota.Categories() {
		out = append(out, "--quota-rate", fmt.Sprintf("%s=%g", c, quota.DefaultRate(c)*scale))
	}
	return out
}

// global returns the flags that send a command to endpoint.
func global(endpoint string, clientScale float64) []string {
	return append([]string{"--endpoint-url", endpoint, "--region", region}, rateFlags(clientScale)...)
}

// sdkClient is a paced, retrying Cognito client for the test's own reads.
func sdkClient(t tb, endpoint string) *cip.Client {
	t.Helper()
	cfg, err := awsx.LoadConfig(context.Background(), awsx.Options{Region: region, EndpointURL: endpoint,
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", ""),
		Limiter:     awsx.NewLimiter(quota.Defaults().Scaled(serverScale*0.5), 1)})
	if err != nil {
		t.Fatal(err)
	}
	return cip.NewFromConfig(cfg)
}

// ---- running cogvault ----

type result struct {
	Code           int
	Killed         bool // ended by our SIGKILL
	Stdout, Stderr string
	Took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d (killed %v) after %v\nstdout:\n%s\nstderr:\n%s", r.Code, r.Killed, r.Took.Round(time.Millisecond), clip(r.Stdout), clip(r.Stderr))
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n…\n" + s[len(s)-2000:]
	}
	return s
}

// runBin runs the cogvault binary; with killAfter > 0 it SIGKILLs the
// process that long after it started, unless it ended first.
func runBin(t tb, killAfter time.Duration, args ...string) result {
	t.Helper()
	if killAfter <= 0 {
		return runBinUntil(t, nil, args...)
	}
	return runBinUntil(t, func(elapsed time.Duration) bool { return elapsed >= killAfter }, args...)
}

// runBinUntil runs the cogvault binary and SIGKILLs it as soon as kill
// (polled every 2ms; nil: never) says so, unless it ended first.
func runBinUntil(t tb, kill func(elapsed time.Duration) bool, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cogvaultBin, args...)
	cmd.Env = binEnv
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cogvault: %v", err)
	}
	if kill != nil {
		done := make(chan struct{})
		defer close(done)
		go func() {
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if kill(time.Since(start)) {
						_ = cmd.Process.Signal(syscall.SIGKILL)
						return
					}
				}
			}
		}()
	}
	err := cmd.Wait()
	r := result{Stdout: out.String(), Stderr: errb.String(), Took: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("cogvault %s: timed out\n%s", strings.Join(args, " "), r)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.Killed = ws.Signal() == syscall.SIGKILL
		r.Code = -1
		if !r.Killed {
			t.Fatalf("cogvault %s: died of %v\n%s", strings.Join(args, " "), ws.Signal(), r)
		}
		return r
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("cogvault: %v", err)
	}
	r.Code = cmd.ProcessState.ExitCode()
	return r
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// runCLI runs cogvault in this process, as cmd/cogvault would.
func runCLI(args ...string) result {
	var out, errb syncBuf
	start := time.Now()
	code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return result{Code: code, Stdout: out.String(), Stderr: errb.String(), Took: time.Since(start)}
}

// ---- what a pool holds ----

type userState struct {
	Attributes map[string]string // every attribute but sub
	Status     string
	Enabled    bool
	MFA        string // preferred setting and the enabled list (sorted), from AdminGetUser
	Groups     []string
	Links      []string // federated identities as "provider:userId", sorted
}

type poolState struct {
	Users map[string]*userState
	Subs  map[string]string // username → sub
	// Listed counts how often each username (lower case: the pools are
	// case-insensitive) came back from ListUsers.
	Listed map[string]int
	Groups map[string]string // name → groupKey(description, precedence, role)
	// Problems are inconsistencies found while reading.
	Problems []string
}

// readPool reads everything a restore is expected to carry over.
func readPool(t tb, api *cip.Client, pool string) *poolState {
	t.Helper()
	ctx := context.Background()
	ps := &poolState{Users: map[string]*userState{}, Subs: map[string]string{}, Listed: map[string]int{}, Groups: map[string]string{}}
	for u, err := range cognito.Users(ctx, api, pool, "") {
		if err != nil {
			t.Fatalf("list users of %s: %v", pool, err)
		}
		name := aws.ToString(u.Username)
		ps.Listed[strings.ToLower(name)]++
		us := &userState{Attributes: map[string]string{}, Status: string(u.UserStatus), Enabled: u.Enabled}
		for _, a := range u.Attributes {
			if aws.ToString(a.Name) == "sub" {
				ps.Subs[name] = aws.ToString(a.Value)
				continue
			}
			if aws.ToString(a.Name) == "identities" {
				us.Links = links(aws.ToString(a.Value))
			}
			us.Attributes[aws.ToString(a.Name)] = normAttr(aws.ToString(a.Name), aws.ToString(a.Value))
		}
		ps.Users[name] = us
	}
	for g, err := range cognito.Groups(ctx, api, pool) {
		if err != nil {
			t.Fatalf("list groups of %s: %v", pool, err)
		}
		name := aws.ToString(g.GroupName)
		ps.Groups[name] = groupKey(aws.ToString(g.Description), g.Precedence, aws.ToString(g.RoleArn))
		for m, err := range cognito.GroupMembers(ctx, api, pool, name) {
			if err != nil {
				t.Fatalf("list members of %s in %s: %v", name, pool, err)
			}
			u := ps.Users[aws.ToString(m.Username)]
			if u == nil {
				ps.Problems = append(ps.Problems, fmt.Sprintf("member %s of %s is not listed by ListUsers", aws.ToString(m.Username), name))
				continue
			}
			u.Groups = append(u.Groups, name)
		}
	}
	names := make([]string, 0, len(ps.Users))
	for n, u := range ps.Users {
		sort.Strings(u.Groups)
		names = append(names, n)
	}
	// MFA preferences are only in AdminGetUser.
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				out, err := api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: &pool, Username: aws.String(n)})
				mu.Lock()
				if err != nil {
					ps.Problems = append(ps.Problems, fmt.Sprintf("AdminGetUser %s: %v", n, err))
				} else {
					ps.Users[n].MFA = mfaKey(aws.ToString(out.PreferredMfaSetting), out.UserMFASettingList)
				}
				mu.Unlock()
			}
		}()
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	return ps
}

// normAttr drops what legitimately differs between two restores of the
// same snapshot: the time each federated identity was linked.
func normAttr(name, value string) string {
	if name != "identities" {
		return value
	}
	var ids []map[string]any
	if err := json.Unmarshal([]byte(value), &ids); err != nil {
		return value
	}
	for _, id := range ids {
		delete(id, "dateCreated")
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// links lists the federated identities of an identities attribute as
// "provider:userId", sorted (what a link is; the time it was made is not).
func links(identities string) []string {
	var ids []struct {
		ProviderName string `json:"providerName"`
		UserID       string `json:"userId"`
	}
	if err := json.Unmarshal([]byte(identities), &ids); err != nil {
		return []string{"unparsable identities: " + identities}
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.ProviderName+":"+id.UserID)
	}
	sort.Strings(out)
	return out
}

// mfaKey renders a user's MFA preferences: the preferred method and the
// enabled ones, sorted.
func mfaKey(preferred string, enabled []string) string {
	l := slices.Clone(enabled)
	sort.Strings(l)
	return preferred + " [" + strings.Join(l, ",") + "]"
}

// groupKey renders what a group is besides its name.
func groupKey(description string, precedence *int32, roleArn string) string {
	prec := "none"
	if precedence != nil {
		prec = strconv.Itoa(int(*precedence))
	}
	return fmt.Sprintf("description %q, precedence %s, role %q", description, prec, roleArn)
}

// duplicates lists usernames ListUsers returned more than once.
func (ps *poolState) duplicates() []string {
	var out []string
	for n, c := range ps.Listed {
		if c > 1 {
			out = append(out, fmt.Sprintf("%s ×%d", n, c))
		}
	}
	sort.Strings(out)
	return out
}

// compareStates lists how got differs from want (subs aside).
func compareStates(want, got *poolState) []string {
	var d []string
	for n, w := range want.Users {
		g := got.Users[n]
		if g == nil {
			d = append(d, "user "+n+" missing")
			continue
		}
		for k, v := range w.Attributes {
			if gv, ok := g.Attributes[k]; !ok || gv != v {
				d = append(d, fmt.Sprintf("user %s: attribute %s differs", n, k))
			}
		}
		for k := range g.Attributes {
			if _, ok := w.Attributes[k]; !ok {
				d = append(d, fmt.Sprintf("user %s: extra attribute %s", n, k))
			}
		}
		if w.Status != g.Status {
			d = append(d, fmt.Sprintf("user %s: status %s, want %s", n, g.Status, w.Status))
		}
		if w.Enabled != g.Enabled {
			d = append(d, fmt.Sprintf("user %s: enabled %v, want %v", n, g.Enabled, w.Enabled))
		}
		if w.MFA != g.MFA {
			d = append(d, fmt.Sprintf("user %s: MFA %q, want %q", n, g.MFA, w.MFA))
		}
		if !slices.Equal(w.Groups, g.Groups) {
			d = append(d, fmt.Sprintf("user %s: groups %v, want %v", n, g.Groups, w.Groups))
		}
	}
	for n := range got.Users {
		if want.Users[n] == nil {
			d = append(d, "unexpected user "+n)
		}
	}
	for n, w := range want.Groups {
		if g, ok := got.Groups[n]; !ok || g != w {
			d = append(d, fmt.Sprintf("group %s: %s, want %s", n, g, w))
		}
	}
	for n := range got.Groups {
		if _, ok := want.Groups[n]; !ok {
			d = append(d, "unexpected group "+n)
		}
	}
	d = append(d, got.Problems...)
	for _, dup := range got.duplicates() {
		d = append(d, "listed more than once: "+dup)
	}
	sort.Strings(d)
	return d
}

func first(d []string, n int) string {
	if len(d) > n {
		return strings.Join(d[:n], "\n") + fmt.Sprintf("\n… and %d more", len(d)-n)
	}
	return strings.Join(d, "\n")
}

// ---- restore reports ----

type item struct {
	Username, Group, What, Reason string
}

type restoreReport struct {
	Report struct {
		UsersCreate    int    `json:"usersCreate"`
		UsersSkip      int    `json:"usersSkip"`
		UsersResumed   int    `json:"usersResumed"`
		MembershipsAdd int    `json:"membershipsAdd"`
		SubMappings    int    `json:"subMappings"`
		NotRestored    []item `json:"notRestored"`
		Changed        []item `json:"changed"`
	} `json:"report"`
	MappingFile string `json:"mappingFile"`
}

func parseRestore(t tb, r result) *restoreReport {
	t.Helper()
	var rep restoreReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("restore output is not its JSON report: %v\n%s", err, r)
	}
	return &rep
}

// ---- scenarios run side by side ----

// Most of a fault scenario's time is spent in the SDK's retry backoff, not
// on a CPU, so the scenarios of a test run side by side in goroutines;
// t.Parallel would hold them to -parallel (GOMAXPROCS: 2 in CI). Each
// reports through a subtest of its own, in order.

// bgT is the tb of a scenario running in the background. Fatalf and Skip
// end the scenario's goroutine, as they end a test's.
type bgT struct {
	parent *testing.T
	name   string

	mu       sync.Mutex
	logs     []string
	fatal    string
	skip     string
	cleanups []func()
	sc       scenario
}

func (b *bgT) Helper()      {}
func (b *bgT) Name() string { return b.name }
func (b *bgT) Logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logs = append(b.logs, fmt.Sprintf(format, args...))
}
func (b *bgT) Fatalf(format string, args ...any) {
	b.mu.Lock()
	b.fatal = fmt.Sprintf(format, args...)
	b.mu.Unlock()
	runtime.Goexit()
}
func (b *bgT) Fatal(args ...any) { b.Fatalf("%s", fmt.Sprint(args...)) }
func (b *bgT) Skip(args ...any) {
	b.mu.Lock()
	b.skip = fmt.Sprint(args...)
	b.mu.Unlock()
	runtime.Goexit()
}
func (b *bgT) Cleanup(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, f)
}
func (b *bgT) TempDir() string { return b.parent.TempDir() }

// bgCase is one scenario: name is its subtest and summary line; run does
// the work and fills sc.
type bgCase struct {
	name string
	run  func(t tb, sc *scenario)
}

// runSideBySide starts every case at once, then reports each as a subtest
// (-run selects what is reported; every case runs).
func runSideBySide(t *testing.T, cases []bgCase) {
	done := make([]chan *bgT, len(cases))
	for i, c := range cases {
		done[i] = make(chan *bgT, 1)
		b := &bgT{parent: t, name: t.Name() + "/" + c.name}
		go func() {
			defer func() {
				for i := len(b.cleanups) - 1; i >= 0; i-- {
					b.cleanups[i]()
				}
				done[i] <- b
			}()
			c.run(b, &b.sc)
		}()
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := <-done[i]
			sc := newScenario(t, c.name)
			sc.Injected, sc.Survived, sc.Detail = b.sc.Injected, b.sc.Survived, b.sc.Detail
			for _, l := range b.logs {
				t.Log(l)
			}
			if b.fatal != "" {
				t.Fatal(b.fatal)
			}
			if b.skip != "" {
				t.Skip(b.skip)
			}
		})
	}
}
