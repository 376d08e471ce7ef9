package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// factsRow is one row of the quota table as docs/cognito-facts.md §9 copies
// it from the quota page.
type factsRow struct {
	rps        float64
	adjustable bool
	ops        []string
}

// factsTable parses §9's table: | Category | Default RPS | Adjustable |
// Operations |. Operation cells hold API names separated by ";" plus quoted
// prose for what is no API operation (hosted UI, token endpoint), skipped.
func factsTable(t *testing.T) map[string]factsRow {
	t.Helper()
	f, err := os.Open("../../docs/cognito-facts.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	name := regexp.MustCompile(`^[A-Z][A-Za-z]+$`)
	rows := map[string]factsRow{}
	in := false
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## 9.")
		}
		if !in || !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Category") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 {
			t.Fatalf("§9 row with %d cells: %s", len(cells), line)
		}
		rps, err := strconv.ParseFloat(cells[1], 64)
		if err != nil {
			t.Fatalf("§9 row %s: default %q", cells[0], cells[1])
		}
		row := factsRow{rps: rps, adjustable: cells[2] == "Yes"}
		for _, op := range strings.Split(cells[3], ";") {
			op, _, _ = strings.Cut(strings.TrimSpace(op), " (") // "UpdateProvisionedLimit (description: …)"
			op = strings.TrimRight(op, "¹²³")
			if name.MatchString(op) {
				row.ops = append(row.ops, op)
			}
		}
		rows[strings.TrimRight(cells[0], "¹²³")] = row
	}
	if len(rows) < 18 {
		t.Fatalf("found %d rows of §9's quota table; has the table moved?", len(rows))
	}
	return rows
}

type quotasJSON struct {
	Categories []struct {
		Name        string   `json:"name"`
		Default     float64  `json:"default"`
		Provisioned *float64 `json:"provisioned"`
		Rate        float64  `json:"rate"`
		PerPoolRate float64  `json:"perPoolRate"`
		Adjustable  bool     `json:"adjustable"`
		Calls       []string `json:"calls"`
	} `json:"categories"`
	Operations map[string]string `json:"operations"`
}

// `cogvault quotas --output json` against the fake agrees with the quota
// page, as docs/cognito-facts.md §9 copies it, category by category and
// operation by operation; shows the account's provisioned UserRead rate and
// paces at it; and lets --quota-rate win over it.
func TestQuotasMatchTheFactsTable(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{QuotaScale: 50})
	api := cip.NewFromConfig(aws.Config{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", "")})
	if _, err := api.UpdateProvisionedLimit(context.Background(), &cip.UpdateProvisionedLimitInput{RequestedLimitValue: 240,
		LimitDefinition: &types.LimitDefinitionType{LimitClass: types.LimitClassApiCategory, Attributes: map[string]string{"Category": "UserRead"}}}); err != nil {
		t.Fatal(err)
	}
	// LimitManagement is 1 RPS; the fake runs at ×50, so may cogvault.
	common := []string{"quotas", "--output", "json", "--endpoint-url", srv.URL, "--region", "us-east-1", "--quota-rate", "LimitManagement=50"}
	code, out, errOut := run(t, context.Background(), common...)
	var got quotasJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || errOut != "" {
		t.Fatalf("quotas: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}

	facts := factsTable(t)
	// An operation may sit in two cells: footnote 1 charges
	// RespondToAuthChallenge with NEW_PASSWORD_REQUIRED to
	// UserAccountRecovery, every other response to UserAuthentication.
	want := map[string]map[string]bool{}
	for cat, row := range facts {
		for _, op := range row.ops {
			if want[op] == nil {
				want[op] = map[string]bool{}
			}
			want[op][cat] = true
		}
	}
	for op, cats := range want {
		if !cats[got.Operations[op]] {
			t.Errorf("operation %s: cogvault says %q, the quota table says %v", op, got.Operations[op], cats)
		}
	}
	for op, cat := range got.Operations {
		if _, ok := want[op]; !ok {
			t.Errorf("operation %s (%s) is not in the quota table", op, cat)
		}
	}
	if len(got.Categories) != len(facts) {
		t.Errorf("%d categories, the table has %d", len(got.Categories), len(facts))
	}
	perPool := map[string]bool{"UserPoolResourceRead": true, "UserPoolResourceUpdate": true, "UserPoolClientRead": true, "UserPoolClientUpdate": true}
	for _, c := range got.Categories {
		row, ok := facts[c.Name]
		switch {
		case !ok:
			t.Errorf("category %s is not in the quota table", c.Name)
			continue
		case c.Default != row.rps || c.Adjustable != row.adjustable:
			t.Errorf("%s: default %v adjustable %v, the table says %v %v", c.Name, c.Default, c.Adjustable, row.rps, row.adjustable)
		case c.Adjustable != (c.Provisioned != nil):
			t.Errorf("%s: provisioned %v for adjustable=%v", c.Name, c.Provisioned, c.Adjustable)
		case perPool[c.Name] != (c.PerPoolRate == 5):
			t.Errorf("%s: per-pool rate %v (footnote 3: 5 for exactly four categories)", c.Name, c.PerPoolRate)
		}
		for _, op := range c.Calls {
			if !want[op][c.Name] {
				t.Errorf("%s lists %s, which the table puts in %v", c.Name, op, want[op])
			}
		}
		wantRate := map[string]float64{"UserRead": 240, "LimitManagement": 50}[c.Name]
		if wantRate == 0 {
			wantRate = c.Default
		}
		if c.Rate != wantRate {
			t.Errorf("%s: rate %v, want %v", c.Name, c.Rate, wantRate)
		}
	}

	// --quota-rate wins over the provisioned rate; --max-share applies.
	code, out, _ = run(t, context.Background(), append(common, "--quota-rate", "UserRead=100", "--max-share", "0.5")...)
	got = quotasJSON{}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("quotas --quota-rate: exit %d, %v", code, err)
	}
	for _, c := range got.Categories {
		if c.Name == "UserRead" && (c.Rate != 50 || c.Provisioned == nil || *c.Provisioned != 240) {
			t.Errorf("UserRead with --quota-rate UserRead=100 --max-share 0.5: rate %v provisioned %v, want 50 and 240", c.Rate, c.Provisioned)
		}
	}
}

// A restore's plan says how long its groups take at least: CreateGroup is
// held to 5 requests a second per pool, so 1,000 groups take 200 s.
func TestRestorePlanSaysHowLongGroupsTake(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, _ := srv.Populate(cognitotest.PopulateOptions{Users: 5, Groups: 1000})
	tgt, _ := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 5})
	dir := t.TempDir()
	// The fake does not throttle; neither need cogvault (1,000 groups'
	// member listings at UserList's 30 RPS would take half a minute).
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo",
		"--quota-rate", "UserList=100000", "--quota-rate", "UserPoolResourceRead=100000"}
	if code, _, errOut := run(t, context.Background(), append([]string{"backup", "--pool", src.PoolID}, common...)...); code != 0 {
		t.Fatal(errOut)
	}
	args := append([]string{"restore", "latest", "--to", tgt.PoolID, "--dry-run", "--state-file", dir + "/state", "--mapping-file", dir + "/subs"}, common...)
	_, out, _ := run(t, context.Background(), args...)
	if !strings.Contains(out, "creating 1,000 groups takes at least 200 s (CreateGroup: 5 requests/s per pool)") {
		t.Fatalf("dry run does not say how long the groups take:\n%s", out)
	}
	_, out, _ = run(t, context.Background(), append(args, "--output", "json")...)
	var doc struct {
		Report struct {
			GroupsCreate     int     `json:"groupsCreate"`
			GroupsMinSeconds float64 `json:"groupsMinSeconds"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Report.GroupsCreate != 1000 || doc.Report.GroupsMinSeconds != 200 {
		t.Fatalf("dry run JSON: %v %+v\n%s", err, doc.Report, out)
	}
}
