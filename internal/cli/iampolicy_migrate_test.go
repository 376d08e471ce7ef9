package cli_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cogvault/cogvault/internal/cognitotest"
	"github.com/cogvault/cogvault/internal/iampolicy"
)

// TestIAMPolicyMigrateIntoAnExistingTarget guards iam-policy migrate --to
// and --import-role-arn (review finding 11a, 11b): migrate start --to an
// existing target and finish --via import run with every Cognito operation
// the policy does not grant denied; the target's actions are granted on its
// ARN alone (no userpool/*), and without a role no import action is granted.
func TestIAMPolicyMigrateIntoAnExistingTarget(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	srv := cognitotest.NewTestServer(t, cognitotest.Options{NoQuotas: true})
	src, err := srv.Populate(cognitotest.PopulateOptions{Users: 30, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := srv.Populate(cognitotest.PopulateOptions{PoolName: "target", Users: 0, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	const role = "arn:aws:iam::123456789012:role/import"
	m, _ := iampolicy.Lookup("migrate")
	o := iampolicy.Options{PoolID: src.PoolID, TargetPoolID: tgt.PoolID, Account: "123456789012", Region: "us-east-1", ImportRoleARN: role}
	for _, st := range iampolicy.Build(m, o).Statement {
		for _, r := range st.Resource {
			if strings.HasSuffix(r, "userpool/*") {
				t.Errorf("statement %s grants on %s although the target is named", st.Sid, r)
			}
		}
	}
	// iam:PassRole (CreateUserImportJob's dependent action, which the fake
	// does not check) on the role for Cognito only, and the job's logs in
	// the target's log group.
	var pass, logs bool
	for _, st := range iampolicy.Build(m, o).Statement {
		pass = pass || slices.Equal(st.Action, []string{"iam:PassRole"}) && slices.Equal(st.Resource, []string{role}) &&
			slices.Equal(st.Condition["StringEquals"]["iam:PassedToService"], []string{"cognito-idp.amazonaws.com"})
		logs = logs || slices.Equal(st.Action, []string{"logs:GetLogEvents"}) && strings.Contains(st.Resource[0], ":log-group:/aws/cognito/userpools/"+tgt.PoolID+"/")
	}
	if !pass || !logs {
		t.Errorf("with --import-role-arn: iam:PassRole on the role for cognito-idp %v, the target's import logs %v", pass, logs)
	}
	noRole := o
	noRole.ImportRoleARN = ""
	if g := granted(t, m, noRole); slices.Contains(g, "CreateUserImportJob") || slices.Contains(g, "StartUserImportJob") {
		t.Errorf("without --import-role-arn the policy grants import jobs: %v", g)
	}
	grant := granted(t, m, o)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", srv.URL)
	dir := t.TempDir()
	common := []string{"--endpoint-url", srv.URL, "--region", "us-east-1", "--repo", dir + "/repo"}
	steps := func() (int, string) {
		code, out, errOut := run(t, ctx, append(common, "migrate", "start", "--from", src.PoolID, "--to", tgt.PoolID,
			"--function-arn", "arn:aws:lambda:us-east-1:123456789012:function:m")...)
		if code != 0 {
			return code, "start: " + out + errOut
		}
		code, out, errOut = run(t, ctx, append(common, "migrate", "finish", "--from", src.PoolID, "--to", tgt.PoolID, "--via", "import",
			"--import-role-arn", role, "--state-dir", t.TempDir(), "--keep-trigger")...)
		return code, "finish: " + out + errOut
	}
	allow := srv.DenyActions(slices.DeleteFunc(cognitotest.Operations(), func(op string) bool { return slices.Contains(grant, op) })...)
	defer allow()
	srv.ResetStats()
	if code, out := steps(); code != 0 && code != 3 {
		t.Fatalf("with only the policy's actions: exit %d\n%s", code, out)
	}
	called := calledOps(srv)
	for _, op := range []string{"CreateUserImportJob", "StartUserImportJob", "GetCSVHeader", "UpdateUserPool", "DescribeUserPoolClient"} {
		if !slices.Contains(called, op) {
			t.Errorf("%s was not called: the scenario does not show the grant is needed", op)
		}
	}
}
