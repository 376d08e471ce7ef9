package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/iampolicy"
	"github.com/cogvault/cogvault/internal/ststest"
)

// granted are the Cognito operations the policy `cogvault iam-policy MODE`
// prints lets the caller call (dependent actions are checked by IAM, never
// called, so they are left out).
func granted(t *testing.T, m iampolicy.Mode, o iampolicy.Options) []string {
	t.Helper()
	var ops []string
	for _, st := range iampolicy.Build(m, o).Statement {
		for _, a := range st.Action {
			if op, ok := strings.CutPrefix(a, "cognito-idp:"); ok && !slices.Contains(m.Dependent, a) {
				ops = append(ops, op)
			}
		}
	}
	slices.Sort(ops)
	return slices.Compact(ops)
}

// notExercised are granted actions the scenario below does not reach in the
// restore modes (those marked "migrate:" in migrate only), and why.
var notExercised = map[string]string{
	"AdminEnableUser":           "re-enables an existing disabled user (--on-existing update)",
	"AdminUpdateUserAttributes": "updates existing users (--on-existing update)",
	"AdminGetUser":              "restore: confirms a user the eventually consistent listing does not show yet",
	"AdminSetUserMFAPreference": "migrate: finish backs up without --mfa, so there are no MFA preferences",
	"ListUserPoolClients":       "migrate: pairs app clients with an existing target (start --to); this run creates the target",
	"ListUserImportJobs":        "restore --via import: looks for the job of a file an interrupted run recorded without it (internal/restore TestImportRestorePicksUpAJobItsStateDidNotRecord)",
}

// notExercisedIn are granted actions one mode's scenario does not reach, and why.
var notExercisedIn = map[string]map[string]string{
	"migrate": {
		"CreateUserImportJob":   "finish --via import (TestIAMPolicyMigrateIntoAnExistingTarget); this run restores through the admin API",
		"DescribeUserImportJob": "finish --via import (TestIAMPolicyMigrateIntoAnExistingTarget)",
		"GetCSVHeader":          "finish --via import (TestIAMPolicyMigrateIntoAnExistingTarget)",
		"StartUserImportJob":    "finish --via import (TestIAMPolicyMigrateIntoAnExistingTarget)",
	},
	"drill": {
		"ListUserPools":            "called by drill --sweep (TestIAMPolicyDrillModeCoversTheSweep)",
		"CreateIdentityProvider":   "the scenario's one provider (Google) needs a secret a drill has no --map for: not carried",
		"AdminLinkProviderForUser": "the scratch pool has no provider to link to (see CreateIdentityProvider)",
	},
}

// excused says why a granted op is not reached in mode name's scenario.
func excused(name, op string) (string, bool) {
	if why, ok := notExercisedIn[name][op]; ok {
		return why, true
	}
	why, ok := notExercised[op]
	return why, ok && name != "backup" && (!strings.HasPrefix(why, "migrate:") || name == "migrate")
}

// TestIAMPolicyGrantsWhatEachModeCalls proves the table drives the code:
// each CLI mode runs against the fake with every Cognito operation its
// printed policy does not grant denied (IAM's AccessDeniedException), and
// still succeeds; then each granted operation it calls is denied alone, and
// the run must fail or say so (exit status or output).
func TestIAMPolicyGrantsWhatEachModeCalls(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 30, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	// A domain and a resource server, so that backup reads and create-pool
	// creates them.
	api := newFakeClient(t, srv)
	if _, err := api.CreateUserPoolDomain(ctx, &cip.CreateUserPoolDomainInput{UserPoolId: &src.PoolID, Domain: aws.String("acme-auth")}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.CreateResourceServer(ctx, &cip.CreateResourceServerInput{UserPoolId: &src.PoolID, Identifier: aws.String("https://api.example.com"), Name: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	// Optional TOTP MFA and hosted-UI CSS, so that create-pool sets them.
	if _, err := api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: &src.PoolID, MfaConfiguration: types.UserPoolMfaTypeOptional,
		SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.SetUICustomization(ctx, &cip.SetUICustomizationInput{UserPoolId: &src.PoolID, CSS: aws.String(".banner-customizable {background-color: #123456;}")}); err != nil {
		t.Fatal(err)
	}
	// A native user linked to a Google identity, so that restores link it.
	if _, err := api.AdminLinkProviderForUser(ctx, &cip.AdminLinkProviderForUserInput{UserPoolId: &src.PoolID,
		DestinationUser: &types.ProviderUserIdentifierType{ProviderName: aws.String("Cognito"), ProviderAttributeValue: aws.String(firstUser(t, srv, src.PoolID))},
		SourceUser:      &types.ProviderUserIdentifierType{ProviderName: aws.String("Google"), ProviderAttributeName: aws.String("Cognito_Subject"), ProviderAttributeValue: aws.String("104857600")}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The populated pool's Google provider has a secret no snapshot holds.
	mapFile := dir + "/map.json"
	if err := os.WriteFile(mapFile, []byte(`{"providerSecrets": {"Google": {"client_secret": "from-the-vault"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", srv.URL)
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	if code, _, errOut := run(t, ctx, append([]string{"backup", "--pool", src.PoolID, "--mfa"}, common...)...); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	// The drill takes this snapshot by id: clone (migrate) adds a later one
	// without --mfa to the same repository.
	mfaSnapshot := onlySnapshot(t, dir+"/repo")
	const role = "arn:aws:iam::123456789012:role/import"
	n := 0
	fresh := func(what string) string { n++; return fmt.Sprintf("%s/%s%d", dir, what, n) }
	target := func() string {
		p, err := srv.Populate(cognitotest.PopulateOptions{PoolName: fmt.Sprint("target", n), Seed: uint64(100 + n)})
		if err != nil {
			t.Fatal(err)
		}
		return p.PoolID
	}
	restore := func(extra ...string) []string {
		return append([]string{"restore", "latest", "--pool", src.PoolID, "--state-file", fresh("state"), "--mapping-file", fresh("subs")}, extra...)
	}
	var startOut string // what migrate start said, in the migrate mode's runs
	modes := map[string]func() []string{
		// Its own repository: the runs with a denied optional read write
		// incomplete snapshots, which the restores must not pick up.
		"backup":         func() []string { return []string{"backup", "--pool", src.PoolID, "--mfa", "--repo", fresh("repo")} },
		"restore":        func() []string { return restore("--to", target()) },
		"restore-import": func() []string { return restore("--to", target(), "--via", "import", "--import-role-arn", role) },
		"create-pool": func() []string {
			return restore("--create-pool", fresh("pool")[len(dir)+1:], "--id-map-file", fresh("ids"), "--map", mapFile)
		},
		// migrate start --create-pool (run here, under the same denials),
		// then the finish it leads to; a start that fails leaves --to empty,
		// which finish refuses (a visible change).
		"migrate": func() []string {
			code, out, errOut := run(t, ctx, append(common, "migrate", "start", "--from", src.PoolID, "--create-pool", fresh("mpool")[len(dir)+1:],
				"--function-arn", "arn:aws:lambda:us-east-1:123456789012:function:m", "--map", mapFile, "--output", "json")...)
			var started struct {
				TargetPoolID string `json:"targetPoolId"`
			}
			_ = json.Unmarshal([]byte(out), &started)
			startOut = fmt.Sprintf("start: exit %d %s", code, errOut)
			return []string{"migrate", "finish", "--from", src.PoolID, "--to", started.TargetPoolID, "--mapping-file", fresh("subs"), "--state-file", fresh("state"), "--no-records"}
		},
		"drill": func() []string { return []string{"drill", mfaSnapshot, "--pool", src.PoolID} },
	}
	for _, name := range []string{"backup", "restore", "restore-import", "create-pool", "migrate", "drill"} {
		t.Run(name, func(t *testing.T) {
			m, _ := iampolicy.Lookup(name)
			grant := granted(t, m, iampolicy.Options{PoolID: src.PoolID, ImportRoleARN: role})
			// Without any denial first: the policy must not change the outcome.
			want, out, errOut := run(t, ctx, append(common, modes[name]()...)...)
			if want != 0 && want != 3 {
				t.Fatalf("without denials: exit %d\n%s\n%s", want, out, errOut)
			}
			allow := srv.DenyActions(slices.DeleteFunc(cognitotest.Operations(), func(op string) bool { return slices.Contains(grant, op) })...)
			defer allow()
			srv.ResetStats()
			base, out, errOut := run(t, ctx, append(common, modes[name]()...)...)
			if base != want {
				t.Fatalf("with only the policy's actions: exit %d\n%s\n%s", base, out, errOut)
			}
			called := calledOps(srv)
			for _, op := range grant {
				if !slices.Contains(called, op) {
					if why, ok := excused(name, op); ok {
						t.Logf("%s granted, not reached here: %s", op, why)
						continue
					}
					t.Errorf("%s is granted but the run never called it", op)
					continue
				}
				lift := srv.DenyActions(op)
				code, out, errOut := run(t, ctx, append(common, modes[name]()...)...)
				lift()
				if out += startOut; code == base && !strings.Contains(out+errOut, op) && !strings.Contains(out+errOut, "AccessDenied") {
					t.Errorf("denying %s changed nothing visible: exit %d\n%s\n%s", op, code, out, errOut)
				}
			}
		})
	}
}

// onlySnapshot is the id of the one snapshot in the directory repository.
func onlySnapshot(t *testing.T, repoDir string) string {
	t.Helper()
	entries, err := os.ReadDir(repoDir + "/snapshots")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("snapshots in %s: %v, want one", repoDir, ids)
	}
	return ids[0]
}

func calledOps(srv *cognitotest.Server) []string {
	var ops []string
	for op, st := range srv.Stats() {
		if st.Calls > 0 {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	return ops
}

// The IAM paragraphs of --help come from the table: every action the
// policy of a mode grants is named in its command's help.
func TestHelpNamesEveryActionOfThePolicy(t *testing.T) {
	for cmd, modes := range map[string][]string{"backup": {"backup"}, "restore": {"restore", "restore-import", "create-pool"}} {
		_, help, _ := run(t, context.Background(), cmd, "--help")
		for _, name := range modes {
			m, _ := iampolicy.Lookup(name)
			for _, st := range iampolicy.Build(m, iampolicy.Options{Bucket: "b", KMSKey: "k", SigningKey: "s", ImportRoleARN: "r"}).Statement {
				for _, a := range st.Action {
					if !strings.Contains(help, a) {
						t.Errorf("%s --help does not name %s (iam-policy %s grants it)", cmd, a, name)
					}
				}
			}
		}
	}
}

// TestIAMPolicyAskStsForTheAccount: without --account the account comes from
// STS GetCallerIdentity, answered by the STS fake (internal/ststest: the
// awsQuery form POST and XML answer of the STS API reference and
// aws-sdk-go-v2 service/sts@v1.52.0 response_snapshot).
func TestIAMPolicyAsksStsForTheAccount(t *testing.T) {
	isolateAWS(t)
	sts := ststest.NewTestServer(t)
	sts.Account = "210987654321"
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	code, out, errOut := run(t, context.Background(), "iam-policy", "backup", "--pool", "eu-west-1_AbC", "--repo", "s3://b/p")
	if code != 0 || sts.IdentityCalls() != 1 || !strings.Contains(out, `"arn:aws:cognito-idp:eu-west-1:210987654321:userpool/eu-west-1_AbC"`) || errOut != "" {
		t.Fatalf("exit %d, %d STS calls\n%s\n%s", code, sts.IdentityCalls(), out, errOut)
	}
	// --account wins: STS is not asked.
	code, out, _ = run(t, context.Background(), "iam-policy", "backup", "--pool", "eu-west-1_AbC", "--repo", "s3://b/p", "--account", "111122223333")
	if code != 0 || sts.IdentityCalls() != 1 || !strings.Contains(out, ":111122223333:userpool/") {
		t.Fatalf("--account: exit %d, %d STS calls\n%s", code, sts.IdentityCalls(), out)
	}
}

// TestIAMPolicyDrillModeCoversTheSweep: `drill --sweep` (and the worker's
// drill action, which sweeps first) deletes a leftover scratch pool with
// only what `iam-policy drill` grants; without any one of the sweep's
// actions the leftover stays (DescribeUserPool refused reads as "not a
// drill's pool", the others fail the sweep).
func TestIAMPolicyDrillModeCoversTheSweep(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	api := newFakeClient(t, srv)
	n := 0
	leftover := func() string {
		n++
		run := fmt.Sprint("killed", n)
		out, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("cogvault-drill-" + run), UserPoolTags: map[string]string{"cogvault:drill": run}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserPool.Id)
	}
	exists := func(id string) bool {
		_, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
		return err == nil
	}
	m, _ := iampolicy.Lookup("drill")
	grant := granted(t, m, iampolicy.Options{})
	allow := srv.DenyActions(slices.DeleteFunc(cognitotest.Operations(), func(op string) bool { return slices.Contains(grant, op) })...)
	defer allow()
	sweep := []string{"drill", "--sweep", "--older-than", "1ns", "--endpoint-url", srv.URL, "--region", "us-east-1"}
	id := leftover()
	if code, out, errOut := run(t, ctx, sweep...); code != 0 || exists(id) {
		t.Fatalf("with the drill mode's grants: exit %d, leftover still there: %v\n%s\n%s", code, exists(id), out, errOut)
	}
	for _, a := range iampolicy.Lambda["drill_sweep"] {
		op := strings.TrimPrefix(a, "cognito-idp:")
		if !slices.Contains(grant, op) {
			t.Errorf("iam-policy drill does not grant %s, which the sweep calls", a)
			continue
		}
		id := leftover()
		lift := srv.DenyActions(op)
		code, out, errOut := run(t, ctx, sweep...)
		lift()
		if !exists(id) {
			t.Errorf("with %s denied the sweep still deleted the leftover (exit %d)\n%s\n%s", op, code, out, errOut)
		}
	}
}
