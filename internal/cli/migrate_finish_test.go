package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestMigrateFinishRemovesOnlyTheMigrationFunction guards finish's trigger
// removal (review finding 6): a slot is cleared only when it holds the
// migration function; a team's own PostAuthentication function put back
// after start (a Terraform apply of the pool's lambda_config, say) is left
// and reported, and other triggers are untouched.
func TestMigrateFinishRemovesOnlyTheMigrationFunction(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	w := newMigrationWorld(t)
	target, _, _ := startedMigration(t, w)
	const theirs = "arn:aws:lambda:us-east-1:111122223333:function:analytics"
	const audit = "arn:aws:lambda:us-east-1:111122223333:function:audit"
	if err := w.srv.SetLambdaConfig(target, map[string]string{"UserMigration": fnARN, "PostAuthentication": theirs, "PreAuthentication": audit}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	code, out, errOut := run(t, ctx, w.args(finishArgs(w, target, dir)...)...)
	if code != 0 && code != 3 {
		t.Fatalf("finish: exit %d\n%s\n%s", code, out, errOut)
	}
	p := w.describe(t, target)
	if p.LambdaConfig == nil || aws.ToString(p.LambdaConfig.PostAuthentication) != theirs || aws.ToString(p.LambdaConfig.PreAuthentication) != audit {
		t.Errorf("finish removed the team's own functions (now %+v)", p.LambdaConfig)
	}
	if p.LambdaConfig != nil && p.LambdaConfig.UserMigration != nil {
		t.Errorf("finish left the migration function in UserMigration: %s", aws.ToString(p.LambdaConfig.UserMigration))
	}
	if !strings.Contains(out, "trigger left PostAuthentication holds "+theirs) {
		t.Errorf("the report does not say the PostAuthentication function was left:\n%s", out)
	}
}

// finishArgs is a finish of target whose side files go to dir.
func finishArgs(w *migrationWorld, target, dir string, more ...string) []string {
	return append([]string{"migrate", "finish", "--from", w.source, "--to", target, "--mapping-file", dir + "/subs", "--state-dir", dir}, more...)
}
