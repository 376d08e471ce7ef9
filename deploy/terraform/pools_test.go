package terraform_test

import (
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// validationFuncs are the functions the module's validation conditions call.
var validationFuncs = map[string]function.Function{
	"can": tryfunc.CanFunc, "regex": stdlib.RegexFunc, "contains": stdlib.ContainsFunc,
	"alltrue": allTrue, "floor": stdlib.FloorFunc, "length": tfLength,
	"distinct": stdlib.DistinctFunc, "coalesce": stdlib.CoalesceFunc, "flatten": stdlib.FlattenFunc,
}

// allTrue is Terraform's alltrue: true when every element is true.
var allTrue = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		for it := args[0].ElementIterator(); it.Next(); {
			if _, v := it.Element(); v.IsNull() || !v.True() {
				return cty.False, nil
			}
		}
		return cty.True, nil
	},
})

// validate evaluates every variable's validation conditions against the
// evaluated inputs, and returns the names of the variables that fail.
func (e *evaluated) validate(t *testing.T, names ...string) []string {
	t.Helper()
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(e.vars)}, Functions: validationFuncs}
	var failed []string
	for _, v := range e.m.blocks("variable") {
		if !contains(names, v.Labels[0]) {
			continue
		}
		for _, b := range v.Body.Blocks {
			if b.Type != "validation" {
				continue
			}
			ok, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("variable %s: validation: %s", v.Labels[0], diags.Error())
			}
			if ok.False() {
				failed = append(failed, v.Labels[0])
			}
		}
	}
	return failed
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// failedPreconditions evaluates the lifecycle preconditions of a block in
// ctx and returns the error messages of those that fail.
func failedPreconditions(t *testing.T, b *hclsyntax.Body, ctx *hcl.EvalContext) []string {
	t.Helper()
	var failed []string
	for _, lc := range b.Blocks {
		if lc.Type != "lifecycle" {
			continue
		}
		for _, pc := range lc.Body.Blocks {
			if pc.Type != "precondition" {
				continue
			}
			ok, diags := pc.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("precondition %s: %s", pc.Body.Attributes["condition"].Expr.Range(), diags.Error())
			}
			if !ok.IsKnown() || ok.IsNull() {
				continue // depends on what only AWS knows (the provider's region in tests is a placeholder)
			}
			if ok.False() {
				msg, _ := pc.Body.Attributes["error_message"].Expr.Value(ctx)
				if msg.IsKnown() && !msg.IsNull() {
					failed = append(failed, msg.AsString())
				} else {
					failed = append(failed, pc.Body.Attributes["condition"].Expr.Range().String())
				}
			}
		}
	}
	return failed
}

// testPools are two pools for the several-pools tests; the first key is set
// by the test to the longest the module admits.
func testPools(longKey string) cty.Value {
	pool := func(id string, extra map[string]cty.Value) cty.Value {
		attrs := map[string]cty.Value{
			"user_pool_id": cty.StringVal(id), "schedule_expression": cty.NullVal(cty.String), "drill_schedule_expression": cty.NullVal(cty.String),
			"retention":      cty.NullVal(cty.Object(map[string]cty.Type{"last": cty.Number, "daily": cty.Number, "weekly": cty.Number, "monthly": cty.Number})),
			"enable_restore": cty.NullVal(cty.Bool), "import_role_arn": cty.NullVal(cty.String), "app_client_ids": cty.NullVal(cty.List(cty.String)),
		}
		for k, v := range extra {
			attrs[k] = v
		}
		return cty.ObjectVal(attrs)
	}
	return cty.MapVal(map[string]cty.Value{
		longKey: pool("eu-west-1_AbCdEf123", map[string]cty.Value{"enable_restore": cty.True, "drill_schedule_expression": cty.StringVal("cron(0 4 ? * SUN *)")}),
		"staff": pool("eu-west-1_XyZ987654", map[string]cty.Value{
			"retention":      cty.ObjectVal(map[string]cty.Value{"last": cty.NumberIntVal(3), "daily": cty.NumberIntVal(30), "weekly": cty.NumberIntVal(5), "monthly": cty.NumberIntVal(12)}),
			"app_client_ids": cty.ListVal([]cty.Value{cty.StringVal("4example5client")}),
		}),
	})
}

// severalPools evaluates the module with the several-pools example's inputs
// and two pools, the first under the longest key its function_name admits,
// and extra inputs.
func severalPools(t *testing.T, m *module, extra map[string]cty.Value) (e *evaluated, longKey string) {
	t.Helper()
	ex := load(t, filepath.Join("examples", "several-pools"))
	mods := ex.blocks("module")
	if len(mods) != 1 {
		t.Fatalf("%d module blocks, want one", len(mods))
	}
	mod := mods[0]
	if _, ok := mod.Body.Attributes["for_each"]; ok {
		t.Fatal("the several-pools example instantiates the module per pool; the module takes pools itself")
	}
	fn, ok := mod.Body.Attributes["function_name"]
	if !ok {
		t.Fatal("the several-pools example sets no function_name")
	}
	// <function_name>-<key> is at most 46 characters (variable function_name).
	longKey = strings.Repeat("k", 46-len(literalString(t, fn.Expr))-1)
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
		"pools": testPools(longKey), "alarm_topic_arn": cty.StringVal(testTopic), "region": cty.StringVal("eu-west-1"),
	})}}
	inputs := map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "data.aws_region.current.region": cty.StringVal("eu-west-1")}
	for name, attr := range mod.Body.Attributes {
		if name == "source" {
			continue
		}
		v, diags := attr.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("module input %s: %s", name, diags.Error())
		}
		inputs[name] = v
	}
	maps.Copy(inputs, extra)
	return evaluate(t, m, inputs), longKey
}

// TestSeveralPools: the module protects several pools of one deployment
// (the several-pools example's inputs, one key the longest admitted, and
// migration mode keeping its records in staff's repository): every
// validation and precondition passes, every name is distinct and within its
// service's limit, each pool's functions are configured for that pool and
// its own repository, and each pool's roles reach only their own pool,
// journal and repository. The migration function is not a pool's: it serves
// the migration target, with the chosen pool's repository.
func TestSeveralPools(t *testing.T) {
	m := load(t, ".")
	e, longKey := severalPools(t, m, map[string]cty.Value{"migration": migrationInputIn("", "", "staff")})
	if failed := e.validate(t, "pools", "user_pool_id", "function_name", "alarm_topic_arn", "schedule_expression", "migration"); len(failed) > 0 {
		t.Fatalf("the module refuses %v", failed)
	}
	if len(e.keys["aws_lambda_function.capture"]) != 2 {
		t.Fatalf("capture functions for %v, want the two pools", e.keys["aws_lambda_function.capture"])
	}
	for _, typ := range []string{"aws_lambda_function", "aws_iam_role"} {
		for _, in := range e.instances(t, typ) {
			if failed := failedPreconditions(t, in.body, in.ctx); len(failed) > 0 {
				t.Errorf("%s.%s: %v", typ, in.name, failed)
			}
		}
	}
	names := map[string]string{}
	for typ, l := range nameLimits {
		for _, in := range e.instances(t, typ) {
			n := in.str(t, l.attr)
			if len(n) > l.limit {
				t.Errorf("%s.%s %q is longer than %d", typ, in.name, n, l.limit)
			}
			if other, dup := names[typ+" "+n]; dup {
				t.Errorf("%s %q is made for both %s and %s", typ, n, other, in.name)
			}
			names[typ+" "+n] = in.name
		}
	}
	namedAfterKeys(t, m, e)
	repos := map[string]string{}
	for _, key := range []string{longKey, "staff"} {
		p := e.forPool(key)
		pool := p.locals["pools"].GetAttr(key).GetAttr("user_pool_id").AsString()
		for _, f := range p.functions(t) {
			if f.name == "migration" {
				continue // not per pool: checked below
			}
			if got := p.str(t, f.env["COGVAULT_POOL_ID"]); got != pool {
				t.Errorf("pool %s: aws_lambda_function.%s has COGVAULT_POOL_ID %s", key, f.name, got)
			}
			repo := p.str(t, f.env["COGVAULT_REPO"])
			if !strings.HasSuffix(repo, "/"+testPrefix+"/"+key) {
				t.Errorf("pool %s: aws_lambda_function.%s has COGVAULT_REPO %s, want <bucket>/%s/%s", key, f.name, repo, testPrefix, key)
			}
			if f.name == "worker" {
				// staff sets daily = 30; the other pool inherits retention's defaults.
				want := map[string]string{"staff": "30"}[key]
				if want == "" {
					want = "7"
				}
				if got := p.str(t, f.env["COGVAULT_KEEP_DAILY"]); got != want {
					t.Errorf("pool %s: COGVAULT_KEEP_DAILY = %s, want %s", key, got, want)
				}
			}
			if other, ok := repos[repo]; ok && other != key {
				t.Errorf("pools %s and %s share the repository %s", other, key, repo)
			}
			repos[repo] = key
		}
		ownOnly(t, p, key, pool)
	}

	// The migration function: the target pool, and staff's repository (the
	// one its capture and worker use), where alone its role may write.
	var migrations int
	for _, f := range e.forPool("staff").functions(t) {
		if f.name != "migration" {
			continue
		}
		migrations++
		if got := e.str(t, f.env["COGVAULT_POOL_ID"]); got != migTarget {
			t.Errorf("the migration function has COGVAULT_POOL_ID %s, want the target %s", got, migTarget)
		}
		if repo := e.str(t, f.env["COGVAULT_REPO"]); repos[repo] != "staff" {
			t.Errorf("the migration function has COGVAULT_REPO %s, want staff's repository", repo)
		}
	}
	if migrations != 1 {
		t.Errorf("%d migration functions, want one", migrations)
	}
	for _, doc := range e.roles(t)["migration"] {
		for _, st := range e.policy(t, doc) {
			if !st.covers("s3:PutObject") && !st.covers("s3:DeleteObject") {
				continue
			}
			for _, r := range st.resources {
				if !strings.Contains(r, "/"+testPrefix+"/staff/migrations/"+migTarget+"/") {
					t.Errorf("the migration role may write to %s (statement %s), want only under staff's repository, migrations/%s/", r, st.sid, migTarget)
				}
			}
		}
	}

	// The first pool runs drills: its worker may never tag or delete any
	// pool of the deployment, the other one included.
	drill := e.forPool(longKey)
	var denied []string
	for _, st := range drill.policy(t, "worker") {
		if st.effect == "Deny" && st.covers("cognito-idp:DeleteUserPool") && st.covers("cognito-idp:TagResource") {
			denied = append(denied, st.resources...)
		}
	}
	for _, key := range []string{longKey, "staff"} {
		if arn := e.forPool(key).poolARN(t); !slices.Contains(denied, arn) {
			t.Errorf("the drilling worker of %s is not denied tagging and deleting pool %s (%s)", longKey, key, arn)
		}
	}
}

// ownOnly: the focused pool's roles may write only under its own
// repository (the capture role only its pool's journal), act on its own
// pool only, and its event rule matches its own pool only.
func ownOnly(t *testing.T, p *evaluated, key, pool string) {
	t.Helper()
	repo := "/" + testPrefix + "/" + key + "/"
	roles := p.roles(t)
	for _, role := range []string{"capture", "worker"} {
		for _, doc := range roles[role] {
			for _, st := range p.policy(t, doc) {
				for _, a := range []string{"s3:PutObject", "s3:DeleteObject", "s3:GetObject"} {
					if !st.covers(a) || st.effect != "Allow" {
						continue
					}
					for _, r := range st.resources {
						want := repo
						if role == "capture" && a == "s3:PutObject" {
							want = repo + "journal/" + pool + "/"
						}
						if !strings.Contains(r, want) {
							t.Errorf("pool %s: role %s may %s on %s (statement %s), want only under %s", key, role, a, r, st.sid, want)
						}
					}
				}
				if st.covers("s3:ListBucket") && st.effect == "Allow" {
					listsOwnPrefix(t, st, key, role, strings.TrimPrefix(repo, "/"))
				}
				if st.sid == "UserPool" && !slices.Equal(st.resources, []string{p.poolARN(t)}) {
					t.Errorf("pool %s: role %s acts on %v, want its pool %s", key, role, st.resources, p.poolARN(t))
				}
			}
		}
	}
	for _, in := range p.instances(t, "aws_cloudwatch_event_rule") {
		if in.name != "cognito_api["+strconv.Quote(key)+"]" {
			continue
		}
		pattern := in.str(t, "event_pattern")
		for _, other := range []string{"eu-west-1_AbCdEf123", "eu-west-1_XyZ987654"} {
			if strings.Contains(pattern, other) != (other == pool) {
				t.Errorf("pool %s: the event rule's pattern %s, want only its own pool %s", key, pattern, pool)
			}
		}
	}
}

// namedAfterKeys: every suffix the module appends to a pool's name
// <function_name>-<key> (read from the names it builds for pool "staff")
// makes a key that is refused next to "staff" ("staff-worker" would name
// its capture function as staff's worker), and accepted next to another
// key, so the refusal is the collision's.
func namedAfterKeys(t *testing.T, m *module, e *evaluated) {
	t.Helper()
	base := e.vars["function_name"].AsString() + "-staff"
	suffixes := map[string]bool{}
	attrs := map[string]string{"aws_cloudwatch_log_group": "name"}
	for typ, l := range nameLimits {
		attrs[typ] = l.attr
	}
	for typ, attr := range attrs {
		for _, in := range e.instances(t, typ) {
			if _, rest, ok := strings.Cut(in.str(t, attr), base); ok && rest != "" {
				suffixes[rest] = true
			}
		}
	}
	if !suffixes["-worker"] || !suffixes["-capture"] || len(suffixes) < 10 {
		t.Fatalf("suffixes of staff's names %v: the names were not read", keys(suffixes))
	}
	for _, suffix := range keys(suffixes) {
		for key, refused := range map[string]bool{"staff" + suffix: true, "stafx" + suffix: false} {
			v := evaluate(t, m, map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "pools": testPools(key)})
			if got := slices.Contains(v.validate(t, "pools"), "pools"); got != refused {
				t.Errorf("pool keys %q and \"staff\" (suffix %s): refused %v, want %v", key, suffix, got, refused)
			}
		}
	}
}

// listsOwnPrefix: a role of one pool may list only its own repository's
// keys (s3:prefix under <repository_prefix>/<key>/), not the other pools'.
func listsOwnPrefix(t *testing.T, st statement, key, role, prefix string) {
	t.Helper()
	var values []string
	for _, c := range st.conditions {
		if c.test == "StringLike" && c.variable == "s3:prefix" {
			values = append(values, c.values...)
		}
	}
	if len(values) == 0 {
		t.Errorf("pool %s: role %s may list the whole bucket (statement %s has no s3:prefix condition)", key, role, st.sid)
	}
	for _, v := range values {
		if !strings.HasPrefix(v, prefix) {
			t.Errorf("pool %s: role %s may list %q (statement %s), want only under %s", key, role, v, st.sid, prefix)
		}
	}
}

// TestOnePoolOrSeveral: exactly one of user_pool_id and pools, checked
// before anything is created; the keys of pools are refused when they would
// make a name too long or unusable, and a pool given twice is refused.
func TestOnePoolOrSeveral(t *testing.T) {
	m := load(t, ".")
	var identity *hclsyntax.Block
	for _, d := range m.blocks("data") {
		if d.Labels[0] == "aws_caller_identity" {
			identity = d
		}
	}
	if identity == nil {
		t.Fatal("no data.aws_caller_identity")
	}
	two := testPools("prod")
	for _, c := range []struct {
		name       string
		id, pools  cty.Value
		wantFailed bool
	}{
		{"user_pool_id", cty.StringVal(testPool), cty.MapValEmpty(two.Type().ElementType()), false},
		{"pools", cty.NullVal(cty.String), two, false},
		{"both", cty.StringVal(testPool), two, true},
		{"neither", cty.NullVal(cty.String), cty.MapValEmpty(two.Type().ElementType()), true},
	} {
		e := evaluate(t, m, map[string]cty.Value{"user_pool_id": c.id, "pools": c.pools})
		if failed := failedPreconditions(t, identity.Body, e.ctx); (len(failed) > 0) != c.wantFailed {
			t.Errorf("%s: preconditions failed %v, want failure %v", c.name, failed, c.wantFailed)
		}
	}

	// One character more than the longest key the example admits.
	e, longKey := severalPools(t, m, nil)
	tooLong := evaluate(t, m, map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "function_name": e.vars["function_name"],
		"pools": testPools(longKey + "k"), "data.aws_region.current.region": cty.StringVal("eu-west-1")})
	refused := false
	for _, in := range tooLong.instances(t, "aws_lambda_function") {
		refused = refused || len(failedPreconditions(t, in.body, in.ctx)) > 0
	}
	if !refused {
		t.Errorf("a pool key making <function_name>-<key> %d characters long is not refused", len(e.vars["function_name"].AsString())+len(longKey)+2)
	}

	for key, want := range map[string]bool{"prod": true, "eu-1": true, strings.Repeat("a", 37): true, strings.Repeat("a", 38): false, "Prod": false, "-prod": false, "pro_d": false, "": false,
		// <function_name>-migration is the migration function's name (migration.tf).
		"migration": false, "migrations": true,
		// Next to "staff" (testPools): another key plus a suffix of the
		// module's names collides with it.
		"staff-worker": false, "staff-capture": false, "staff-drill": false, "staff-eu": true, "worker": true, "staffworker": true} {
		v := evaluate(t, m, map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "pools": testPools(key)})
		if refused := slices.Contains(v.validate(t, "pools"), "pools"); refused == want {
			t.Errorf("pool key %q: refused %v, want accepted %v", key, refused, want)
		}
	}
	same := cty.MapVal(map[string]cty.Value{"a": two.Index(cty.StringVal("prod")), "b": two.Index(cty.StringVal("prod"))})
	if v := evaluate(t, m, map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "pools": same}); !slices.Contains(v.validate(t, "pools"), "pools") {
		t.Error("one pool under two keys is accepted")
	}
}

// TestMovedBlocksKeepOnePoolDeployments: a deployment made before pools
// (user_pool_id, un-keyed resources) plans no replacement: every resource
// instance of a one-pool deployment, drill included, is the target of a
// moved block from its old address, and every moved block names a
// resource the module declares.
func TestMovedBlocksKeepOnePoolDeployments(t *testing.T) {
	m := load(t, ".")
	e := evaluate(t, m, map[string]cty.Value{"drill_schedule_expression": cty.StringVal("rate(7 days)")})
	// Resources added together with pools: no earlier deployment has them.
	added := map[string]bool{`aws_cloudwatch_log_group.states["default"]`: true}
	moved := map[string]string{} // to -> from
	declared := m.declaredBlocks()
	for _, b := range m.blocks("moved") {
		from, to := traversalString(t, b.Body.Attributes["from"].Expr), traversalString(t, b.Body.Attributes["to"].Expr)
		moved[to] = from
		for _, a := range []string{from, to} {
			name, _, _ := strings.Cut(a, "[")
			if declared[name] == nil && !slices.Contains([]string{"aws_lambda_function.this", "aws_cloudwatch_log_group.this"}, name) {
				t.Errorf("moved block %s -> %s: %s is not declared", from, to, name)
			}
		}
	}
	n := 0
	for addr, b := range declared {
		if strings.HasPrefix(addr, "data.") {
			continue
		}
		for _, in := range e.instances(t, b.Labels[0]) {
			if !strings.HasPrefix(in.name, b.Labels[1]+"[") {
				continue // not this block's instance, or not repeated
			}
			full := b.Labels[0] + "." + in.name
			if _, ok := moved[full]; !ok && !added[full] {
				t.Errorf("%s has no moved block from its address before pools", full)
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("only %d per-pool instances seen", n)
	}
}

// traversalString renders a moved block's address: aws_x.y["k"] or aws_x.y[0].
func traversalString(t *testing.T, expr hclsyntax.Expression) string {
	t.Helper()
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", expr.Range(), diags.Error())
	}
	var b strings.Builder
	for i, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String {
				b.WriteString("[" + strconv.Quote(s.Key.AsString()) + "]")
			} else {
				b.WriteString("[" + s.Key.AsBigFloat().String() + "]")
			}
		default:
			t.Fatalf("%s: step %d of the address is %T", expr.Range(), i, step)
		}
	}
	return b.String()
}
