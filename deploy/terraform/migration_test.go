package terraform_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/iampolicy"
	"github.com/cogvault/cogvault/internal/migration"
)

// Migration mode (migration.tf, modules/migration-source-role): the
// function's role grants exactly iampolicy's lambda-migration mode, its
// environment is what the code reads and accepts, nothing exists without
// var.migration, and the source account's role trusts only the function's
// role and grants only the source calls.

const (
	migTarget = "eu-west-1_Target1"
	migSource = "us-east-2_Source1"
	migRole   = "arn:aws:iam::111122223333:role/cogvault-migration-source"
)

func migrationInput(role, legacy string) cty.Value {
	return migrationInputIn(role, legacy, "")
}

// migrationInputIn is migrationInput keeping the records in the repository
// of the pool repository ("": unset, the only pool's).
func migrationInputIn(role, legacy, repository string) cty.Value {
	opt := func(s string) cty.Value {
		if s == "" {
			return cty.NullVal(cty.String)
		}
		return cty.StringVal(s)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"target_pool_id": cty.StringVal(migTarget), "source_pool_id": cty.StringVal(migSource), "source_client_id": cty.StringVal("abc123client"),
		"source_region": cty.NullVal(cty.String), "source_role_arn": opt(role), "legacy_sub_attribute": opt(legacy),
		"repository": opt(repository),
	})
}

// grants are a role's Allow statements as "action resource" pairs, its own
// log group left out (iampolicy prints no logs grant: the CLI's users run
// no function).
func grants(t *testing.T, e *evaluated, role string) (map[string]bool, []string) {
	t.Helper()
	out, logs := map[string]bool{}, []string(nil)
	for _, doc := range e.roles(t)[role] {
		for _, st := range e.policy(t, doc) {
			if st.effect != "Allow" {
				t.Errorf("role %s: %s statement %q", role, st.effect, st.sid)
			}
			if st.sid == "OwnLogs" {
				logs = append(logs, st.resources...)
				continue
			}
			for _, a := range st.actions {
				for _, r := range st.resources {
					out[a+" "+r] = true
				}
			}
		}
	}
	return out, logs
}

// With one pool the records are in its repository (testPrefix); with
// several, in the repository of the pool migration.repository names
// (testPrefix/staff): iampolicy's Prefix is that repository's.
func TestMigrationRoleIsTheLambdaMigrationMode(t *testing.T) {
	m := load(t, ".")
	mode, ok := iampolicy.Lookup("lambda-migration")
	if !ok {
		t.Fatal("no iampolicy mode lambda-migration")
	}
	noPools := cty.MapValEmpty(testPools("prod").Type().ElementType())
	for _, c := range []struct {
		role, prefix string
		inputs       map[string]cty.Value
	}{
		{"", testPrefix, map[string]cty.Value{"migration": migrationInput("", ""), "pools": noPools}},
		{migRole, testPrefix, map[string]cty.Value{"migration": migrationInput(migRole, ""), "pools": noPools}},
		{"", testPrefix + "/staff", map[string]cty.Value{"migration": migrationInputIn("", "", "staff"), "user_pool_id": cty.NullVal(cty.String), "pools": testPools("prod")}},
	} {
		role := c.role
		e := evaluate(t, m, c.inputs)
		o := iampolicy.Options{Partition: e.local(t, "partition"), Region: "eu-west-1", Account: e.local(t, "account"),
			PoolID: migTarget, SourcePoolID: migSource, SourceRoleARN: role, Bucket: "BUCKET", Prefix: c.prefix,
			KMSKey: e.local(t, "kms_key_arn"), SigningKey: e.local(t, "signing_key_arn")}
		if role != "" {
			o.SourceAccount = "111122223333"
		}
		// The module's bucket ARN is a local the evaluator leaves as a name.
		bucket := strings.NewReplacer("arn:"+o.Partition+":s3:::BUCKET", e.local(t, "bucket_arn"))
		want, wantList := map[string]bool{}, []string(nil)
		for _, st := range iampolicy.Build(mode, o).Statement {
			for _, a := range st.Action {
				for _, r := range st.Resource {
					want[a+" "+bucket.Replace(r)] = true
				}
			}
			if slices.Contains(st.Action, "s3:ListBucket") {
				wantList = st.Condition["StringLike"]["s3:prefix"]
			}
		}
		got, logs := grants(t, e, "migration")
		if !maps.Equal(got, want) {
			t.Errorf("source role %q, prefix %s: the migration role grants\n%v\niampolicy lambda-migration grants\n%v", role, c.prefix, sortedKeys(got), sortedKeys(want))
		}
		if !slices.Equal(logs, []string{"aws_cloudwatch_log_group.migration[0].arn:*"}) {
			t.Errorf("the migration role may write logs to %v, want only its own group", logs)
		}
		// The listing is limited to the same repository (grants leaves
		// conditions out).
		var list []string
		for _, doc := range e.roles(t)["migration"] {
			for _, st := range e.policy(t, doc) {
				for _, cond := range st.conditions {
					if st.covers("s3:ListBucket") && cond.variable == "s3:prefix" {
						list = append(list, cond.values...)
					}
				}
			}
		}
		if len(wantList) == 0 || !slices.Equal(list, wantList) {
			t.Errorf("prefix %s: the migration role may list %v, iampolicy lists %v", c.prefix, list, wantList)
		}
		// Only the target's records, not the whole repository (§35.4).
		if own := c.prefix + "/migrations/" + migTarget + "/*"; !slices.Equal(wantList, []string{own}) {
			t.Errorf("prefix %s: the function may list %v, want only %s", c.prefix, wantList, own)
		}
	}
}

// migration.repository: the only pool's repository by default; with
// several pools it must name one, and a key no pool has is refused, before
// anything is created, by a message naming the input. The function is
// configured for the chosen pool's repository.
func TestMigrationRepositoryIsAPools(t *testing.T) {
	m := load(t, ".")
	one := map[string]cty.Value{}
	several := map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "pools": testPools("prod")}
	for _, c := range []struct {
		name, repository string
		pools            map[string]cty.Value
		wantRepo         string // "": refused
	}{
		{"one pool, unset", "", one, testPrefix},
		{"one pool, default", "default", one, testPrefix},
		{"one pool, another key", "staff", one, ""},
		{"several pools, unset", "", several, ""},
		{"several pools, staff", "staff", several, testPrefix + "/staff"},
		{"several pools, prod", "prod", several, testPrefix + "/prod"},
		{"several pools, default", "default", several, ""},
	} {
		inputs := maps.Clone(c.pools)
		inputs["migration"] = migrationInputIn("", "", c.repository)
		e := evaluate(t, m, inputs)
		var failed []string
		for _, in := range e.instances(t, "aws_iam_role") {
			if in.name == "migration" {
				failed = append(failed, failedPreconditions(t, in.body, in.ctx)...)
			}
		}
		if c.wantRepo == "" {
			if len(failed) != 1 || !strings.Contains(failed[0], "migration.repository") {
				t.Errorf("%s: preconditions failed %q, want one naming migration.repository", c.name, failed)
			}
			continue
		}
		if len(failed) > 0 {
			t.Errorf("%s: refused: %q", c.name, failed)
		}
		if e.focus == "" {
			e = e.forPool("staff") // any: the migration function is not per pool
		}
		found := false
		for _, f := range e.functions(t) {
			if f.name != "migration" {
				continue
			}
			found = true
			if got := e.str(t, f.env["COGVAULT_REPO"]); !strings.HasSuffix(got, "/"+c.wantRepo) {
				t.Errorf("%s: COGVAULT_REPO = %s, want the repository <bucket>/%s", c.name, got, c.wantRepo)
			}
		}
		if !found {
			t.Errorf("%s: no migration function", c.name)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}

// The function's environment is exactly what the code reads, and the
// migration code accepts it as the contract's configuration.
func TestMigrationFunctionEnvironment(t *testing.T) {
	m := load(t, ".")
	for _, c := range []struct{ role, legacy string }{{"", ""}, {migRole, "custom:legacy_sub"}} {
		e := evaluate(t, m, map[string]cty.Value{"migration": migrationInput(c.role, c.legacy)})
		var env map[string]string
		for _, f := range e.functions(t) {
			if f.name == "migration" {
				env = map[string]string{}
				for k, x := range f.env {
					env[k] = e.str(t, x)
				}
			}
		}
		if env == nil {
			t.Fatal("no aws_lambda_function.migration")
		}
		want := append([]string{"COGVAULT_REPO", "COGVAULT_POOL_ID", "COGVAULT_KMS_KEY_ID", "COGVAULT_SIGNING_KEY", "COGVAULT_REPO_KEY"}, migration.EnvVars...)
		slices.Sort(want)
		if got := sortedKeys(boolSet(slices.Collect(maps.Keys(env)))); !slices.Equal(got, want) {
			t.Errorf("environment %v, want %v", got, want)
		}
		for _, k := range want {
			if !slices.Contains(capture.EnvVars, k) && !slices.Contains(migration.EnvVars, k) && !slices.Contains(signingEnvVars, k) {
				t.Errorf("%s is read by no code", k)
			}
		}
		if _, err := capture.FromEnv(func(k string) string { return env[k] }); err != nil {
			t.Errorf("capture.FromEnv refuses the environment: %v", err)
		}
		got, ok, err := migration.FromEnv(func(k string) string { return env[k] }, "eu-west-1")
		wantEnv := migration.Env{SourcePoolID: migSource, SourceClientID: "abc123client", SourceRegion: "us-east-2", SourceRoleARN: c.role, LegacySubAttribute: c.legacy}
		if !ok || err != nil || got != wantEnv || env["COGVAULT_POOL_ID"] != migTarget {
			t.Errorf("migration.FromEnv: %+v %v %v, want %+v (pool %s)", got, ok, err, wantEnv, env["COGVAULT_POOL_ID"])
		}
	}
}

func boolSet(list []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range list {
		out[s] = true
	}
	return out
}

// Within the trigger's 5 s, invocable by Cognito for the target pool only;
// nothing at all without var.migration.
func TestMigrationFunctionAndPermission(t *testing.T) {
	m := load(t, ".")
	off := evaluate(t, m, nil)
	for _, typ := range []string{"aws_lambda_function", "aws_iam_role", "aws_iam_role_policy", "aws_cloudwatch_log_group", "aws_lambda_permission"} {
		for _, in := range off.instances(t, typ) {
			if in.name == "migration" {
				t.Errorf("without var.migration the module creates %s.migration", typ)
			}
		}
	}
	e := evaluate(t, m, map[string]cty.Value{"migration": migrationInput("", "")})
	targetARN := "arn:" + e.local(t, "partition") + ":cognito-idp:eu-west-1:" + e.local(t, "account") + ":userpool/" + migTarget
	found := map[string]bool{}
	for _, typ := range []string{"aws_lambda_function", "aws_lambda_permission"} {
		for _, in := range e.instances(t, typ) {
			if in.name != "migration" {
				continue
			}
			found[typ] = true
			switch typ {
			case "aws_lambda_function":
				if n := in.num(t, "timeout"); n < 1 || n > 5 {
					t.Errorf("migration function timeout %d s; Cognito waits 5 s for a trigger", n)
				}
			case "aws_lambda_permission":
				if in.str(t, "principal") != "cognito-idp.amazonaws.com" || in.str(t, "source_arn") != targetARN || in.str(t, "action") != "lambda:InvokeFunction" {
					t.Errorf("permission: principal %s, source_arn %s; want cognito-idp.amazonaws.com on %s", in.str(t, "principal"), in.str(t, "source_arn"), targetARN)
				}
			}
		}
	}
	if len(found) != 2 {
		t.Errorf("with var.migration: found %v, want the function and its permission", found)
	}
	if failed := e.validate(t, "migration"); len(failed) != 0 {
		t.Errorf("a valid migration input fails validation")
	}
	bad := migrationInput("arn:aws:iam::111122223333:user/someone", "")
	for _, v := range []cty.Value{bad, migrationInput("", "legacy_sub")} {
		if failed := evaluate(t, m, map[string]cty.Value{"migration": v}).validate(t, "migration"); len(failed) != 1 {
			t.Errorf("an invalid migration input passes validation: %#v", v)
		}
	}
}

// With the longest function_name, the migration function's and role's
// names fit their services' limits.
func TestMigrationNamesFitTheirLimits(t *testing.T) {
	e := evaluate(t, load(t, "."), map[string]cty.Value{"function_name": cty.StringVal(strings.Repeat("f", 46)), "migration": migrationInput(migRole, "")})
	for _, typ := range []string{"aws_lambda_function", "aws_iam_role"} {
		l := nameLimits[typ]
		for _, in := range e.instances(t, typ) {
			if name := in.str(t, l.attr); in.name == "migration" && len(name) > l.limit {
				t.Errorf("%s.migration: %q is %d characters, the limit is %d", typ, name, len(name), l.limit)
			}
		}
	}
}

// The source account's role: assumable by the function's role alone, for
// the one hour the function asks, granting the source calls on the source
// pool and nothing else.
func TestMigrationSourceRole(t *testing.T) {
	m := load(t, "modules/migration-source-role")
	if got := literalList(t, m, "cognito_actions_migration_source"); !slices.Equal(got, iampolicy.Lambda["migration_source"]) {
		t.Errorf("local.cognito_actions_migration_source = %v, want iampolicy.Lambda[migration_source] %v", got, iampolicy.Lambda["migration_source"])
	}
	fnRole := "arn:aws:iam::123456789012:role/cogvault-migration"
	e := evaluate(t, m, map[string]cty.Value{"source_pool_id": cty.StringVal(migSource), "function_role_arn": cty.StringVal(fnRole)})
	trust := e.policy(t, "trust")
	if len(trust) != 1 || !slices.Equal(trust[0].actions, []string{"sts:AssumeRole"}) || !slices.Equal(trust[0].principals, []string{"AWS:" + fnRole}) {
		t.Errorf("trust policy %+v, want sts:AssumeRole by %s only", trust, fnRole)
	}
	got, _ := grants(t, e, "source")
	pool := "arn:data.aws_partition.current.partition:cognito-idp:us-east-2:data.aws_caller_identity.current.account_id:userpool/" + migSource
	want := map[string]bool{}
	for _, a := range iampolicy.Lambda["migration_source"] {
		want[a+" "+pool] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("source role grants %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for _, in := range e.instances(t, "aws_iam_role") {
		if in.num(t, "max_session_duration") < 3600 {
			t.Errorf("max_session_duration %d: the function asks for 3600 s", in.num(t, "max_session_duration"))
		}
	}
}
