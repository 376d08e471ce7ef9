package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// nullAllowed are keys whose value is an object or a number that may be
// absent (JSON null), never a list. Every other null is a list printed as
// null, which scripts then cannot iterate (jq '.x[]' fails on null).
var nullAllowed = map[string]bool{
	"provisioned": true, // quotas: the account's limit, unreadable without credentials
	"prune":       true, // forget: no --prune, no prune report
	"createPool":  true, // restore: no --create-pool
}

// Every command's --output json, on a small fake pool and repository, is
// one document with no null list.
func TestJSONOutputHasNoNullLists(t *testing.T) {
	isolateAWS(t)
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 12, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", srv.URL)
	common := []string{"--endpoint-url", srv.URL, "--repo", dir + "/repo", "--output", "json"}
	side := func(name string) []string {
		return []string{"--state-file", dir + "/" + name + ".state", "--mapping-file", dir + "/" + name + ".subs"}
	}
	cmds := [][]string{
		{"version"},
		{"pools", "--region", "us-east-1"},
		{"quotas", "--region", "us-east-1"},
		{"backup", "--pool", src.PoolID},
		{"backup", "--pool", src.PoolID},
		{"snapshots"},
		{"snapshots", "--pool", src.PoolID},
		{"verify"},
		{"verify", "latest"},
		{"diff", "latest"},
		{"diff", "latest", "--to", tgt.PoolID},
		{"journal", "list"},
		append([]string{"restore", "latest", "--to", tgt.PoolID, "--dry-run"}, side("dry")...),
		append([]string{"restore", "latest", "--to", tgt.PoolID}, side("real")...),
		append([]string{"restore", "latest", "--create-pool", "copy", "--region", "us-east-1", "--dry-run"}, side("create")...),
		{"clone", "--from", src.PoolID, "--to-endpoint-url", srv.URL, "--dry-run"},
		{"journal", "compact", "--pool", src.PoolID},
		{"forget", "--keep-last", "1", "--dry-run"},
		{"forget", "--keep-last", "1"},
		{"prune", "--dry-run"},
		{"prune", "--grace", "0s"},
		{"forget", "--keep-last", "1", "--prune"},
	}
	for _, args := range cmds {
		name := strings.Join(args, " ")
		code, out, errOut := run(t, context.Background(), append(args, common...)...)
		if code != 0 && code != 1 && code != 3 {
			t.Errorf("%s: exit %d\n%s", name, code, errOut)
			continue
		}
		var doc any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Errorf("%s: stdout is not one JSON document (%v):\n%s\nstderr:\n%s", name, err, out, errOut)
			continue
		}
		for _, p := range nullLists(doc, "") {
			t.Errorf("%s: %s is null", name, p)
		}
		if strings.Contains(errOut, "listed above") {
			t.Errorf("%s: with --output json nothing is listed above, but stderr says so:\n%s", name, errOut)
		}
	}
	// Commands that bring their own fake and repository.
	for _, args := range [][]string{
		{"demo", "--users", "40", "--groups", "2", "--repo", dir + "/demo"},
		{"bench", "--users", "40", "--groups", "2", "--restore-users", "5", "--quota-scale", "100"},
	} {
		name := strings.Join(args, " ")
		code, out, errOut := run(t, context.Background(), append(args, "--output", "json")...)
		var doc any
		if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
			t.Errorf("%s: exit %d, %v\n%s\n%s", name, code, err, out, errOut)
			continue
		}
		for _, p := range nullLists(doc, "") {
			t.Errorf("%s: %s is null", name, p)
		}
	}
	if _, err := os.Stat(dir + "/demo"); err != nil {
		t.Fatal(err)
	}
}

// nullLists returns the paths of nulls in v that are not in nullAllowed.
func nullLists(v any, path string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil && !nullAllowed[k] {
				out = append(out, path+"."+k)
			}
			out = append(out, nullLists(e, path+"."+k)...)
		}
	case []any:
		for i, e := range v {
			if e == nil {
				out = append(out, fmt.Sprintf("%s[%d]", path, i))
			}
			out = append(out, nullLists(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case nil:
		if path == "" {
			out = append(out, "the document")
		}
	}
	return out
}
