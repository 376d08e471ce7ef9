package terraform_test

// An evaluator for the module's policy documents, without Terraform: inputs
// get test values, references to resources and data sources evaluate to
// their own names ("aws_cloudwatch_log_group.capture.arn"), and a local that
// still cannot be evaluated (one(), splats over resources) becomes the
// string "local.<name>". Good enough to say which role may do what on which
// key prefix.

import (
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/cogvault/cogvault/internal/drill"
	"github.com/cogvault/cogvault/internal/iampolicy"
)

// Test inputs shared by the policy tests.
const (
	testPool   = "eu-west-1_AbCdEf123"
	testPrefix = "backups/cogvault"
)

// statement is one evaluated statement of an aws_iam_policy_document.
type statement struct {
	sid, effect string
	actions     []string
	resources   []string
	principals  []string // "type:identifier"
	conditions  []condition
}

type condition struct {
	test, variable string
	values         []string
}

// evaluated is the module evaluated for one set of inputs.
type evaluated struct {
	m      *module
	vars   map[string]cty.Value
	locals map[string]cty.Value
	ctx    *hcl.EvalContext
	// keys holds the instance keys of every block with for_each, by
	// address ("aws_iam_role.capture", "data.aws_iam_policy_document.x").
	keys map[string][]cty.Value
	// focus is the pool (a key of local.pools) whose per-pool blocks the
	// helpers read: each.key and each.value in ctx, and roles, documents
	// and instances named without their key. The only pool when there is
	// one; forPool picks another.
	focus string
	// facts replace the symbols of data source attributes, by path.
	facts map[string]cty.Value
}

var funcs = map[string]function.Function{
	"sort": stdlib.SortFunc, "distinct": stdlib.DistinctFunc, "concat": stdlib.ConcatFunc,
	"setsubtract": stdlib.SetSubtractFunc, "setintersection": stdlib.SetIntersectionFunc,
	"length": tfLength, "contains": stdlib.ContainsFunc, "coalesce": stdlib.CoalesceFunc,
	"replace": stdlib.ReplaceFunc, "lower": stdlib.LowerFunc, "split": stdlib.SplitFunc,
	"tostring": stdlib.MakeToFunc(cty.String), "toset": stdlib.MakeToFunc(cty.Set(cty.String)),
	"merge": stdlib.MergeFunc, "jsonencode": stdlib.JSONEncodeFunc, "startswith": startsWith, "values": stdlib.ValuesFunc, "keys": stdlib.KeysFunc,
	"lookup": stdlib.LookupFunc, "join": stdlib.JoinFunc,
}

// evaluate evaluates the module's variables (defaults, then overrides) and
// locals.
func evaluate(t *testing.T, m *module, overrides map[string]cty.Value) *evaluated {
	t.Helper()
	e := &evaluated{m: m, vars: map[string]cty.Value{"user_pool_id": cty.StringVal(testPool), "repository_prefix": cty.StringVal(testPrefix)}, locals: map[string]cty.Value{}, facts: map[string]cty.Value{}}
	for _, v := range m.blocks("variable") {
		if _, set := e.vars[v.Labels[0]]; set {
			continue
		}
		if def, ok := v.Body.Attributes["default"]; ok {
			val, diags := def.Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %s: default: %s", v.Labels[0], diags.Error())
			}
			e.vars[v.Labels[0]] = val
		}
	}
	for k, v := range overrides {
		if strings.HasPrefix(k, "data.") {
			e.facts[k] = v // what AWS would answer, such as data.aws_region.current.region
			continue
		}
		e.vars[k] = v
	}
	for _, v := range m.blocks("variable") {
		if val, ok := e.vars[v.Labels[0]]; ok {
			e.vars[v.Labels[0]] = typed(t, v, val)
		}
	}
	// Locals first, to know every for_each's keys; then again, with
	// references to those instances resolvable.
	// A for_each over another block's instances needs that block's keys
	// first: repeat until no more keys appear.
	e.evalLocals()
	for n := -1; n != countKeys(e.keys); {
		n = countKeys(e.keys)
		e.keys = e.forEachKeys()
		e.locals = map[string]cty.Value{}
		e.evalLocals()
	}
	if pools, ok := e.locals["pools"]; ok && pools.CanIterateElements() && pools.LengthInt() == 1 {
		for it := pools.ElementIterator(); it.Next(); {
			k, _ := it.Element()
			e.focus = k.AsString()
		}
	}
	e.ctx = e.context()
	return e
}

// context is the evaluation context with the current locals.
func (e *evaluated) context() *hcl.EvalContext {
	vars := symbols(e.m, e.keys)
	for path, v := range e.facts {
		parts := strings.Split(path, ".")
		vars[parts[0]] = setPath(vars[parts[0]], parts[1:], v)
	}
	vars["var"] = cty.ObjectVal(e.vars)
	vars["local"] = cty.ObjectVal(e.locals)
	if pools, ok := e.locals["pools"]; ok && e.focus != "" && pools.Type().IsObjectType() && pools.Type().HasAttribute(e.focus) {
		vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(e.focus), "value": pools.GetAttr(e.focus)})
	}
	return &hcl.EvalContext{Variables: vars, Functions: funcs}
}

// evalLocals evaluates locals until none more can be; then gives the first
// one left its placeholder and tries again.
func (e *evaluated) evalLocals() {
	exprs := map[string]hcl.Expression{}
	for _, l := range e.m.blocks("locals") {
		for name, attr := range l.Body.Attributes {
			exprs[name] = attr.Expr
		}
	}
	for len(e.locals) < len(exprs) {
		progress := false
		ctx := e.context()
		for _, name := range keysOf(exprs) {
			if _, done := e.locals[name]; done {
				continue
			}
			if v, diags := exprs[name].Value(ctx); !diags.HasErrors() && v.IsWhollyKnown() {
				e.locals[name], progress = v, true
			}
		}
		if !progress {
			for _, name := range keysOf(exprs) {
				if _, done := e.locals[name]; !done {
					e.locals[name] = cty.StringVal("local." + name)
					break
				}
			}
		}
	}
	e.ctx = e.context()
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (e *evaluated) dynamic(t *testing.T, doc string, blk *hclsyntax.Block, outer *hcl.EvalContext) []statement {
	t.Helper()
	each, diags := blk.Body.Attributes["for_each"].Expr.Value(outer)
	if diags.HasErrors() {
		t.Fatalf("%s: dynamic statement for_each: %s", doc, diags.Error())
	}
	var content *hclsyntax.Body
	for _, c := range blk.Body.Blocks {
		if c.Type == "content" {
			content = c.Body
		}
	}
	var out []statement
	for it := each.ElementIterator(); it.Next(); {
		k, v := it.Element()
		ctx := outer.NewChild()
		ctx.Variables = map[string]cty.Value{"statement": cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})}
		out = append(out, e.statement(t, doc, content, ctx))
	}
	return out
}

func (e *evaluated) statement(t *testing.T, doc string, body *hclsyntax.Body, ctx *hcl.EvalContext) statement {
	t.Helper()
	for _, forbidden := range []string{"not_actions", "not_resources"} {
		if _, ok := body.Attributes[forbidden]; ok {
			t.Fatalf("%s: a statement uses %s, which these tests do not read", doc, forbidden)
		}
	}
	st := statement{effect: "Allow"}
	str := func(attr string) string {
		a, ok := body.Attributes[attr]
		if !ok {
			return ""
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("%s: %s: %s", doc, attr, diags.Error())
		}
		return v.AsString()
	}
	list := func(b *hclsyntax.Body, attr string) []string {
		a, ok := b.Attributes[attr]
		if !ok {
			return nil
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("%s: %s: %s", doc, attr, diags.Error())
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, x := it.Element()
			out = append(out, x.AsString())
		}
		return out
	}
	st.sid = str("sid")
	if eff := str("effect"); eff != "" {
		st.effect = eff
	}
	st.actions, st.resources = list(body, "actions"), list(body, "resources")
	for _, b := range body.Blocks {
		switch b.Type {
		case "principals":
			typ, diags := b.Body.Attributes["type"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("%s: principals type: %s", doc, diags.Error())
			}
			for _, id := range list(b.Body, "identifiers") {
				st.principals = append(st.principals, typ.AsString()+":"+id)
			}
		case "condition":
			c := condition{values: list(b.Body, "values")}
			for attr, dst := range map[string]*string{"test": &c.test, "variable": &c.variable} {
				v, diags := b.Body.Attributes[attr].Expr.Value(ctx)
				if diags.HasErrors() {
					t.Fatalf("%s: condition %s: %s", doc, attr, diags.Error())
				}
				*dst = v.AsString()
			}
			st.conditions = append(st.conditions, c)
		case "not_principals":
			t.Fatalf("%s: a statement uses not_principals, which these tests do not read", doc)
		}
	}
	return st
}

// covers reports whether the statement's action patterns cover action
// (IAM matches * and ? case-insensitively).
func (st statement) covers(action string) bool {
	for _, a := range st.actions {
		if ok, _ := path.Match(strings.ToLower(a), strings.ToLower(action)); ok {
			return true
		}
	}
	return false
}

// lambdaFunction is one aws_lambda_function: its role and environment.
type lambdaFunction struct {
	name string
	// index is the instance read: `["<focused pool>"]` for a block with
	// for_each, "[0]" for one with count. The function's log group is the
	// same instance of the log group of the same name.
	index string
	role  string
	env   map[string]hclsyntax.Expression
}

// functions are the module's aws_lambda_function blocks that have an
// instance with these inputs (a block whose count is 0 has none), each
// read in the focused pool's instance.
func (e *evaluated) functions(t *testing.T) []lambdaFunction {
	t.Helper()
	var out []lambdaFunction
	for _, r := range e.m.blocks("resource") {
		if r.Labels[0] != "aws_lambda_function" {
			continue
		}
		index := "[" + strconv.Quote(e.focus) + "]"
		if c, ok := r.Body.Attributes["count"]; ok {
			v, diags := c.Expr.Value(e.ctx)
			if diags.HasErrors() {
				t.Fatalf("aws_lambda_function.%s count: %s", r.Labels[1], diags.Error())
			}
			if v.AsBigFloat().Sign() == 0 {
				continue
			}
			index = "[0]"
		}
		f := lambdaFunction{name: r.Labels[1], index: index, role: e.bare(ref(t, e.ctx, r.Body.Attributes["role"].Expr, "aws_iam_role")), env: map[string]hclsyntax.Expression{}}
		for _, env := range r.Body.Blocks {
			if env.Type != "environment" {
				continue
			}
			obj, ok := env.Body.Attributes["variables"].Expr.(*hclsyntax.ObjectConsExpr)
			if !ok {
				t.Fatalf("aws_lambda_function.%s: environment variables are not an object literal", f.name)
			}
			for _, item := range obj.Items {
				k, diags := item.KeyExpr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("environment key: %s", diags.Error())
				}
				f.env[k.AsString()] = item.ValueExpr
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatal("no aws_lambda_function")
	}
	return out
}

func (e *evaluated) str(t *testing.T, expr hclsyntax.Expression) string {
	t.Helper()
	if expr == nil {
		t.Fatal("no such expression (a missing environment variable?)")
	}
	v, diags := expr.Value(e.ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", expr.Range(), diags.Error())
	}
	return v.AsString()
}

func (e *evaluated) local(t *testing.T, name string) string {
	t.Helper()
	v, ok := e.locals[name]
	if !ok || !v.Type().Equals(cty.String) {
		t.Fatalf("local.%s is not a string", name)
	}
	return v.AsString()
}

// s3Deletes are the actions that remove objects or their versions.
var s3Deletes = []string{"s3:DeleteObject", "s3:DeleteObjectVersion"}

func TestCaptureRoleOnlyAddsJournalObjects(t *testing.T) {
	m := load(t, ".")
	for _, restore := range []bool{false, true} {
		e := evaluate(t, m, map[string]cty.Value{"enable_restore": cty.BoolVal(restore)})
		docs := e.roles(t)["capture"]
		if len(docs) == 0 {
			t.Fatal("no aws_iam_role.capture with a policy")
		}
		journal := "/" + testPrefix + "/journal/" + testPool + "/*"
		puts := 0
		for _, doc := range docs {
			for _, st := range e.policy(t, doc) {
				if st.effect != "Allow" {
					continue
				}
				for _, a := range append([]string{"s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention", "s3:RestoreObject"}, s3Deletes...) {
					if st.covers(a) {
						t.Errorf("enable_restore=%v: the capture role may %s (statement %q)", restore, a, st.sid)
					}
				}
				if !st.covers("s3:PutObject") {
					continue
				}
				puts++
				for _, r := range st.resources {
					if !strings.HasSuffix(r, journal) || !strings.HasPrefix(r, e.local(t, "bucket_arn")+"/") {
						t.Errorf("enable_restore=%v: the capture role may s3:PutObject on %s (statement %q); only <bucket>%s", restore, r, st.sid, journal)
					}
				}
			}
		}
		if puts == 0 {
			t.Errorf("enable_restore=%v: the capture role may not write journal objects", restore)
		}
	}
}

func TestOnlyTheWorkerDeletes(t *testing.T) {
	m := load(t, ".")
	e := evaluate(t, m, map[string]cty.Value{"enable_restore": cty.True})
	roles := e.roles(t)
	if _, ok := roles["worker"]; !ok {
		t.Fatal("no aws_iam_role.worker")
	}
	for _, role := range keysOf(roles) {
		may := map[string]bool{}
		for _, doc := range roles[role] {
			for _, st := range e.policy(t, doc) {
				for _, a := range append([]string{"s3:BypassGovernanceRetention", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration"}, s3Deletes...) {
					if st.effect == "Allow" && st.covers(a) {
						may[a] = true
					}
				}
			}
		}
		switch {
		case role == "worker" && !may["s3:DeleteObject"]:
			t.Error("the worker role may not s3:DeleteObject: forget and prune need it")
		case role != "worker" && role != "migration" && may["s3:DeleteObject"]:
			t.Errorf("role %s may s3:DeleteObject; only the worker prunes (and the migration function its own records: migration_test.go)", role)
		}
		for _, a := range []string{"s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutLifecycleConfiguration"} {
			if may[a] {
				t.Errorf("role %s may %s: no function needs it, and it would erase history", role, a)
			}
		}
	}
}

// bucketPolicy is the document of the module's aws_s3_bucket_policy.
func bucketPolicy(t *testing.T, e *evaluated) []statement {
	t.Helper()
	for _, r := range e.m.blocks("resource") {
		if r.Labels[0] == "aws_s3_bucket_policy" {
			return e.policy(t, ref(t, e.ctx, r.Body.Attributes["policy"].Expr, "data.aws_iam_policy_document"))
		}
	}
	t.Fatal("no aws_s3_bucket_policy")
	return nil
}

func TestBucketPolicyDeniesConfigDelete(t *testing.T) {
	e := evaluate(t, load(t, "."), nil)
	config := "/" + testPrefix + "/config.json"
	denied := map[string]bool{}
	for _, st := range bucketPolicy(t, e) {
		if st.effect != "Deny" || len(st.conditions) > 0 || !slices.Contains(st.principals, "*:*") {
			continue
		}
		for _, r := range st.resources {
			if strings.HasSuffix(r, config) || strings.HasSuffix(r, "/"+testPrefix+"/*") {
				for _, a := range s3Deletes {
					if st.covers(a) {
						denied[a] = true
					}
				}
			}
		}
	}
	for _, a := range s3Deletes {
		if !denied[a] {
			t.Errorf("the bucket policy does not deny %s on <bucket>%s to everyone, unconditionally", a, config)
		}
	}
}

func TestBucketPolicyDeniesOverwrites(t *testing.T) {
	e := evaluate(t, load(t, "."), nil)
	for _, st := range bucketPolicy(t, e) {
		if st.effect != "Deny" || !st.covers("s3:PutObject") || !slices.Contains(st.principals, "*:*") ||
			!slices.ContainsFunc(st.resources, func(r string) bool { return strings.HasSuffix(r, "/"+testPrefix+"/*") }) {
			continue
		}
		// Exactly these two conditions: no If-None-Match header, on the
		// calls that create the object (PutObject, CompleteMultipartUpload).
		want := []condition{
			{test: "Null", variable: "s3:if-none-match", values: []string{"true"}},
			{test: "Bool", variable: "s3:ObjectCreationOperation", values: []string{"true"}},
		}
		if len(st.conditions) == len(want) && slices.EqualFunc(st.conditions, want, func(a, b condition) bool {
			return a.test == b.test && a.variable == b.variable && slices.Equal(a.values, b.values)
		}) {
			return
		}
	}
	t.Error("the bucket policy does not deny s3:PutObject without If-None-Match on <bucket>/<prefix>/* (s3:if-none-match Null, s3:ObjectCreationOperation true)")
}

func TestObjectLockMode(t *testing.T) {
	m := load(t, ".")
	var mode *hclsyntax.Block
	for _, v := range m.blocks("variable") {
		if v.Labels[0] == "object_lock_mode" {
			mode = v
		}
	}
	if mode == nil {
		t.Fatal("no variable object_lock_mode")
	}
	if def := literalString(t, mode.Body.Attributes["default"].Expr); def != "GOVERNANCE" {
		t.Errorf("object_lock_mode defaults to %q, want GOVERNANCE", def)
	}
	valid := func(value string) bool {
		ctx := &hcl.EvalContext{Functions: funcs, Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{"object_lock_mode": cty.StringVal(value)}),
		}}
		ok := true
		for _, b := range mode.Body.Blocks {
			if b.Type != "validation" {
				continue
			}
			v, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
			if diags.HasErrors() || !v.True() {
				ok = false
			}
		}
		return ok
	}
	for value, want := range map[string]bool{"GOVERNANCE": true, "COMPLIANCE": true, "governance": false, "compliance": false, "": false, "LEGAL_HOLD": false, "COMPLIANCE ": false} {
		if got := valid(value); got != want {
			t.Errorf("object_lock_mode = %q: accepted %v, want %v", value, got, want)
		}
	}
	// The bucket's default retention uses it.
	for _, value := range []string{"GOVERNANCE", "COMPLIANCE"} {
		e := evaluate(t, m, map[string]cty.Value{"object_lock": cty.True, "object_lock_mode": cty.StringVal(value)})
		found := false
		for _, r := range m.blocks("resource") {
			if r.Labels[0] != "aws_s3_bucket_object_lock_configuration" {
				continue
			}
			for _, rule := range r.Body.Blocks {
				for _, ret := range rule.Body.Blocks {
					if ret.Type == "default_retention" {
						found = true
						if got := e.str(t, ret.Body.Attributes["mode"].Expr); got != value {
							t.Errorf("object_lock_mode = %s: default retention mode %s", value, got)
						}
					}
				}
			}
		}
		if !found {
			t.Fatal("no aws_s3_bucket_object_lock_configuration with a default_retention")
		}
	}
}

func TestSigningKeyIsEd25519(t *testing.T) {
	m := load(t, ".")
	found := false
	for _, r := range m.blocks("resource") {
		if r.Labels[0] != "aws_kms_key" || r.Labels[1] != "signing" {
			continue
		}
		found = true
		for attr, want := range map[string]string{"customer_master_key_spec": "ECC_NIST_EDWARDS25519", "key_usage": "SIGN_VERIFY"} {
			a, ok := r.Body.Attributes[attr]
			if !ok {
				t.Errorf("aws_kms_key.signing sets no %s, want %q", attr, want)
				continue
			}
			if got := literalString(t, a.Expr); got != want {
				t.Errorf("aws_kms_key.signing %s = %q, want %q", attr, got, want)
			}
		}
	}
	if !found {
		t.Fatal("no aws_kms_key.signing")
	}
}

// Only the roles of functions that sign (COGVAULT_SIGNING_KEY) may kms:Sign,
// each on the signing key only and with Ed25519 only; each such function may.
func TestOnlyWritersMaySign(t *testing.T) {
	m := load(t, ".")
	e := evaluate(t, m, map[string]cty.Value{"enable_restore": cty.True, "migration": migrationInput("", "")})
	roles := e.roles(t)
	writers := map[string]bool{}
	for _, f := range e.functions(t) {
		if _, ok := f.env["COGVAULT_SIGNING_KEY"]; ok {
			writers[f.role] = true
		}
	}
	key := e.local(t, "signing_key_arn")
	for _, role := range keysOf(roles) {
		signs := false
		for _, doc := range roles[role] {
			for _, st := range e.policy(t, doc) {
				if st.effect != "Allow" || !st.covers("kms:Sign") {
					continue
				}
				signs = true
				if !slices.Equal(st.resources, []string{key}) {
					t.Errorf("role %s may kms:Sign on %v (statement %q), want only the signing key", role, st.resources, st.sid)
				}
				alg := condition{test: "StringEquals", variable: "kms:SigningAlgorithm", values: []string{"ED25519_SHA_512"}}
				if !slices.ContainsFunc(st.conditions, func(c condition) bool {
					return c.test == alg.test && c.variable == alg.variable && slices.Equal(c.values, alg.values)
				}) {
					t.Errorf("role %s may kms:Sign without the condition kms:SigningAlgorithm = ED25519_SHA_512 (statement %q)", role, st.sid)
				}
			}
		}
		switch {
		case signs && !writers[role]:
			t.Errorf("role %s may kms:Sign, but no function with COGVAULT_SIGNING_KEY runs as it", role)
		case !signs && writers[role]:
			t.Errorf("role %s runs a function with COGVAULT_SIGNING_KEY but may not kms:Sign", role)
		}
	}
}

// Every function verifies against the pinned public key and signs with the
// KMS key ("kms:<ARN>", the form the signing code reads); the migration
// function exists with migration mode.
func TestFunctionsGetTheRepositoryKeys(t *testing.T) {
	e := evaluate(t, load(t, "."), map[string]cty.Value{"migration": migrationInput("", "")})
	fns := e.functions(t)
	var names []string
	for _, f := range fns {
		names = append(names, f.name)
		if x, ok := f.env["COGVAULT_REPO_KEY"]; !ok {
			t.Errorf("aws_lambda_function.%s has no COGVAULT_REPO_KEY", f.name)
		} else if got, want := e.str(t, x), e.local(t, "signing_public_key"); got != want {
			t.Errorf("aws_lambda_function.%s: COGVAULT_REPO_KEY = %s, want the signing key's public key (%s)", f.name, got, want)
		}
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"capture", "migration", "worker"}) {
		t.Fatalf("functions %v, want capture, migration and worker", names)
	}
	for _, f := range fns {
		x, ok := f.env["COGVAULT_SIGNING_KEY"]
		if !ok {
			t.Errorf("aws_lambda_function.%s writes to the repository but has no COGVAULT_SIGNING_KEY", f.name)
			continue
		}
		if got, want := e.str(t, x), "kms:"+e.local(t, "signing_key_arn"); got != want {
			t.Errorf("aws_lambda_function.%s: COGVAULT_SIGNING_KEY = %s, want %s", f.name, got, want)
		}
	}
}

// The provider must know the Ed25519 key spec: the module and its examples
// admit no provider older than 6.21.
func TestProviderKnowsEd25519(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("examples", "*"))
	for _, dir := range append([]string{"."}, dirs...) {
		m := load(t, dir)
		found := false
		for _, tf := range m.blocks("terraform") {
			for _, rp := range tf.Body.Blocks {
				if rp.Type != "required_providers" {
					continue
				}
				v, diags := rp.Body.Attributes["aws"].Expr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("%s: required_providers.aws: %s", dir, diags.Error())
				}
				found = true
				c := v.GetAttr("version").AsString()
				var major, minor int
				if n, _ := fmt.Sscanf(c, ">= %d.%d", &major, &minor); n != 2 || major < 6 || (major == 6 && minor < 21) {
					t.Errorf("%s: the aws provider constraint %q admits versions without the key spec ECC_NIST_EDWARDS25519; want \">= 6.21\" or later", dir, c)
				}
			}
		}
		if !found {
			t.Errorf("%s: no required_providers.aws", dir)
		}
	}
}

// A key of the user's: the module creates no signing key, reads no public
// key when given one, and hands the given ones to the functions and roles.
func TestOwnSigningKey(t *testing.T) {
	m := load(t, ".")
	const arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	const pub = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=" // RFC 8410, 10.1
	counts := func(e *evaluated) map[string]int64 {
		out := map[string]int64{}
		for _, typ := range []string{"resource", "data"} {
			for _, b := range m.blocks(typ) {
				if b.Labels[1] != "signing" {
					continue
				}
				c, ok := b.Body.Attributes["count"]
				if !ok {
					t.Fatalf("%s.%s.signing has no count", typ, b.Labels[0])
				}
				v, diags := c.Expr.Value(e.ctx)
				if diags.HasErrors() {
					t.Fatalf("%s.signing count: %s", b.Labels[0], diags.Error())
				}
				n, _ := v.AsBigFloat().Int64()
				out[b.Labels[0]] = n
			}
		}
		return out
	}
	e := evaluate(t, m, nil)
	if got := counts(e); got["aws_kms_key"] != 1 || got["aws_kms_public_key"] != 1 {
		t.Errorf("without signing_key_arn: counts %v, want a key and its public key read", got)
	}
	e = evaluate(t, m, map[string]cty.Value{"signing_key_arn": cty.StringVal(arn)})
	if got := counts(e); got["aws_kms_key"] != 0 || got["aws_kms_alias"] != 0 || got["aws_kms_public_key"] != 1 {
		t.Errorf("with signing_key_arn: counts %v, want no key or alias created, the public key read", got)
	}
	e = evaluate(t, m, map[string]cty.Value{"signing_key_arn": cty.StringVal(arn), "signing_public_key": cty.StringVal(pub), "migration": migrationInput("", "")})
	if got := counts(e); got["aws_kms_key"] != 0 || got["aws_kms_public_key"] != 0 {
		t.Errorf("with signing_key_arn and signing_public_key: counts %v, want nothing created or read", got)
	}
	if len(e.functions(t)) != 3 {
		t.Errorf("with migration mode: %d functions, want capture, worker and migration", len(e.functions(t)))
	}
	for _, f := range e.functions(t) {
		if got := e.str(t, f.env["COGVAULT_SIGNING_KEY"]); got != "kms:"+arn {
			t.Errorf("aws_lambda_function.%s: COGVAULT_SIGNING_KEY = %s, want kms:%s", f.name, got, arn)
		}
		if got := e.str(t, f.env["COGVAULT_REPO_KEY"]); got != pub {
			t.Errorf("aws_lambda_function.%s: COGVAULT_REPO_KEY = %s, want the given public key", f.name, got)
		}
	}
	for role, docs := range e.roles(t) {
		for _, doc := range docs {
			for _, st := range e.policy(t, doc) {
				if st.covers("kms:Sign") && !slices.Equal(st.resources, []string{arn}) {
					t.Errorf("role %s may kms:Sign on %v, want the given key", role, st.resources)
				}
			}
		}
	}
}

// The public key variable takes what KMS returns for an Ed25519 key and
// nothing else: a PEM, an RSA or P-256 key, a raw 32-byte key.
func TestSigningPublicKeyValidation(t *testing.T) {
	m := load(t, ".")
	var v *hclsyntax.Block
	for _, b := range m.blocks("variable") {
		if b.Labels[0] == "signing_public_key" {
			v = b
		}
	}
	if v == nil {
		t.Fatal("no variable signing_public_key")
	}
	valid := func(value cty.Value) bool {
		ctx := &hcl.EvalContext{Functions: map[string]function.Function{"can": canFunc, "regex": stdlib.RegexFunc}, Variables: map[string]cty.Value{
			"var": cty.ObjectVal(map[string]cty.Value{"signing_public_key": value}),
		}}
		for _, b := range v.Body.Blocks {
			if b.Type == "validation" {
				r, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
				if diags.HasErrors() || !r.True() {
					return false
				}
			}
		}
		return true
	}
	const rfc8410 = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=" // RFC 8410, 10.1
	const p256 = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkDiX6kCHdzHSQ8bmSFl9Ndb8s+ZFG0XhtlVnlYhMsNDTXcMawwzJHFomyvc4GQIp3Mnae4XBmfh6NjWtzCzVEw=="
	for value, want := range map[string]bool{
		rfc8410:                          true,
		strings.TrimSuffix(rfc8410, "="): false,
		rfc8410[16:]:                     false, // the raw 32-byte key
		p256:                             false,
		"-----BEGIN PUBLIC KEY-----\n" + rfc8410 + "\n-----END PUBLIC KEY-----": false,
		"": false,
	} {
		if got := valid(cty.StringVal(value)); got != want {
			t.Errorf("signing_public_key = %q: accepted %v, want %v", value, got, want)
		}
	}
	if !valid(cty.NullVal(cty.String)) {
		t.Error("signing_public_key = null is refused; it means read it from KMS")
	}
}

// canFunc is Terraform's can() for these tests: true when its argument
// evaluated without error (a failed regex() is an error).
var canFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "expr", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.True, nil
	},
})

// TestDrillRightsReachOnlyTaggedPools: the worker's drill rights exist only
// when a drill is scheduled; it may create only pools carrying the drill's
// tag, act only on pools carrying it, and never tag or delete the pool the
// deployment backs up.
func TestDrillRightsReachOnlyTaggedPools(t *testing.T) {
	m := load(t, ".")
	hasCondition := func(st statement, variable string) bool {
		return slices.ContainsFunc(st.conditions, func(c condition) bool {
			return c.test == "Null" && c.variable == variable && slices.Equal(c.values, []string{"false"})
		})
	}
	off := evaluate(t, m, nil)
	for _, st := range off.policy(t, "worker") {
		for _, a := range []string{"cognito-idp:CreateUserPool", "cognito-idp:DeleteUserPool", "cognito-idp:TagResource", "cognito-idp:ListUserPools"} {
			if st.effect == "Allow" && st.covers(a) {
				t.Errorf("without a drill the worker may %s (statement %s)", a, st.sid)
			}
		}
	}
	on := evaluate(t, m, map[string]cty.Value{"drill_schedule_expression": cty.StringVal("cron(0 4 ? * SUN *)")})
	if got := on.local(t, "drill_tag_key"); got != drill.TagKey {
		t.Fatalf("drill_tag_key %q, the drill tags with %q", got, drill.TagKey)
	}
	requestTag, resourceTag := "aws:RequestTag/"+drill.TagKey, "aws:ResourceTag/"+drill.TagKey
	pool := on.poolARN(t)
	var deniedOnPool []string
	may := map[string]bool{}
	for _, st := range on.policy(t, "worker") {
		if st.effect == "Deny" {
			if slices.Equal(st.resources, []string{pool}) {
				deniedOnPool = append(deniedOnPool, st.actions...)
			}
			continue
		}
		if slices.Equal(st.resources, []string{pool}) {
			continue // the deployment's own pool: snapshot (and restore) rights
		}
		for _, a := range st.actions {
			may[a] = true
			switch {
			case a == "cognito-idp:CreateUserPool" || a == "cognito-idp:TagResource":
				if !hasCondition(st, requestTag) {
					t.Errorf("statement %s grants %s without requiring the %s tag in the request", st.sid, a, drill.TagKey)
				}
			case strings.HasPrefix(a, "cognito-idp:") && !slices.Contains(local(t, on, "cognito_actions_any_resource"), a):
				if !hasCondition(st, resourceTag) {
					t.Errorf("statement %s grants %s on %v without requiring the pool's %s tag", st.sid, a, st.resources, drill.TagKey)
				}
			}
		}
	}
	// What a drill was seen to call against the fake (internal/drill's
	// tests), plus CreateUserPool, and the sweep of leftover scratch pools
	// the drill action runs first (ListUserPools: without it the sweep
	// fails with AccessDenied on AWS and leftovers pile up).
	for _, a := range []string{"AdminAddUserToGroup", "AdminCreateUser", "AdminDisableUser", "AdminGetUser", "AdminSetUserPassword",
		"CreateGroup", "CreateUserPool", "CreateUserPoolClient", "DeleteUserPool", "DescribeUserPool", "ListGroups",
		"ListIdentityProviders", "ListUserPools", "ListUsers", "ListUsersInGroup"} {
		if !may["cognito-idp:"+a] {
			t.Errorf("a scheduled drill calls %s, and the worker may not", a)
		}
	}
	// The table `cogvault iam-policy drill` prints from (the CLI's test runs
	// the drill and the sweep with only those actions allowed).
	for _, a := range append(slices.Clone(iampolicy.Lambda["drill_scratch"]), iampolicy.Lambda["drill_sweep"]...) {
		if !may[a] {
			t.Errorf("iampolicy.Lambda lists %s for drills, and the drilling worker may not", a)
		}
	}
	for _, a := range []string{"cognito-idp:TagResource", "cognito-idp:DeleteUserPool"} {
		if !slices.Contains(deniedOnPool, a) {
			t.Errorf("the worker is not denied %s on the pool it backs up", a)
		}
	}
}

// local reads a list-of-strings local.
func local(t *testing.T, e *evaluated, name string) []string {
	t.Helper()
	v, ok := e.locals[name]
	if !ok || !v.CanIterateElements() {
		t.Fatalf("local.%s is not a list", name)
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, s := it.Element()
		out = append(out, s.AsString())
	}
	return out
}

// TestEachFunctionWritesItsOwnLogs: the statements the roles share come
// from one document with an instance per function (source_policy_documents);
// each role may write only its own function's log group, and all still get
// the shared grants. With migration mode, so its function is one of them.
func TestEachFunctionWritesItsOwnLogs(t *testing.T) {
	e := evaluate(t, load(t, "."), map[string]cty.Value{"migration": migrationInput("", "")})
	roles := e.roles(t)
	for _, f := range e.functions(t) {
		want := "aws_cloudwatch_log_group." + f.name + f.index + ".arn:*"
		var logs []string
		sids := map[string]bool{}
		for _, doc := range roles[f.role] {
			for _, st := range e.policy(t, doc) {
				sids[st.sid] = true
				if st.covers("logs:PutLogEvents") {
					logs = append(logs, st.resources...)
				}
			}
		}
		if !slices.Equal(logs, []string{want}) {
			t.Errorf("role %s (function %s) may write logs to %v, want only %s", f.role, f.name, logs, want)
		}
		for _, sid := range []string{"RepositoryKey", "SignRepository", "OwnLogs"} {
			if !sids[sid] {
				t.Errorf("role %s has no statement %s", f.role, sid)
			}
		}
	}
}

func countKeys(keys map[string][]cty.Value) int {
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	return n
}

// setPath replaces the attribute at path inside nested objects.
func setPath(obj cty.Value, path []string, v cty.Value) cty.Value {
	if len(path) == 0 {
		return v
	}
	attrs := map[string]cty.Value{}
	if !obj.IsNull() && obj.Type().IsObjectType() {
		attrs = obj.AsValueMap()
	}
	if attrs == nil {
		attrs = map[string]cty.Value{}
	}
	attrs[path[0]] = setPath(attrs[path[0]], path[1:], v)
	return cty.ObjectVal(attrs)
}

// typed converts a variable's value to its declared type, optional
// attributes' defaults included, as Terraform does before anything reads
// it (retention = {} becomes {last = 3, daily = 7, ...}).
func typed(t *testing.T, v *hclsyntax.Block, val cty.Value) cty.Value {
	t.Helper()
	te, ok := v.Body.Attributes["type"]
	if !ok {
		return val
	}
	ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(te.Expr)
	if diags.HasErrors() {
		t.Fatalf("variable %s: type: %s", v.Labels[0], diags.Error())
	}
	if defaults != nil {
		val = defaults.Apply(val)
	}
	out, err := convert.Convert(val, ty)
	if err != nil {
		t.Fatalf("variable %s: the value %#v does not convert to its type: %v", v.Labels[0], val, err)
	}
	return out
}
