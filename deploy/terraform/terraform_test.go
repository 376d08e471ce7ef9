// Package terraform_test checks the Terraform module without Terraform or
// network: every file parses and is formatted as `terraform fmt` would
// (hclwrite.Format is the formatter terraform fmt runs), every variable
// referenced is declared and every declared one used, the examples pass
// only declared inputs and every required one, the IAM action lists are
// exactly what the code calls (capture.Actions), each granted on the
// resource type the Service Authorization Reference lists for it
// (capture.ResourceTypes), and the function's
// environment sets only variables the code reads.
package terraform_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/cogvault/cogvault/internal/capture"
)

// module is one directory of .tf files.
type module struct {
	dir    string
	bodies []*hclsyntax.Body
}

func load(t *testing.T, dir string) *module {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s: %v", dir, err)
	}
	m := &module{dir: dir}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s does not parse: %s", f, diags.Error())
		}
		if formatted := hclwrite.Format(src); !bytes.Equal(formatted, src) {
			t.Errorf("%s is not formatted: run terraform fmt -recursive deploy/terraform", f)
		}
		m.bodies = append(m.bodies, file.Body.(*hclsyntax.Body))
	}
	return m
}

// blocks returns the top-level blocks of a type.
func (m *module) blocks(typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.bodies {
		for _, blk := range b.Blocks {
			if blk.Type == typ {
				out = append(out, blk)
			}
		}
	}
	return out
}

// vars returns the names of var.X references anywhere in the module.
func (m *module) vars() map[string]bool {
	used := map[string]bool{}
	for _, b := range m.bodies {
		hclsyntax.VisitAll(b, func(n hclsyntax.Node) hcl.Diagnostics {
			if e, ok := n.(*hclsyntax.ScopeTraversalExpr); ok && e.Traversal.RootName() == "var" && len(e.Traversal) > 1 {
				if a, ok := e.Traversal[1].(hcl.TraverseAttr); ok {
					used[a.Name] = true
				}
			}
			return nil
		})
	}
	return used
}

func (m *module) declared() (all, required map[string]bool) {
	all, required = map[string]bool{}, map[string]bool{}
	for _, v := range m.blocks("variable") {
		name := v.Labels[0]
		all[name] = true
		if _, ok := v.Body.Attributes["default"]; !ok {
			required[name] = true
		}
	}
	return all, required
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestModuleVariables(t *testing.T) {
	m := load(t, ".")
	declared, _ := m.declared()
	used := m.vars()
	for _, v := range keys(used) {
		if !declared[v] {
			t.Errorf("var.%s is used but not declared in variables.tf", v)
		}
	}
	for _, v := range keys(declared) {
		if !used[v] {
			t.Errorf("variable %q is declared but never used", v)
		}
	}
	for _, v := range m.blocks("variable") {
		for _, attr := range []string{"type", "description"} {
			if _, ok := v.Body.Attributes[attr]; !ok {
				t.Errorf("variable %q has no %s", v.Labels[0], attr)
			}
		}
	}
}

func TestExamplesPassDeclaredInputs(t *testing.T) {
	m := load(t, ".")
	declared, required := m.declared()
	meta := map[string]bool{"source": true, "version": true, "providers": true, "depends_on": true, "count": true, "for_each": true}
	dirs, _ := filepath.Glob(filepath.Join("examples", "*"))
	if len(dirs) == 0 {
		t.Fatal("no examples")
	}
	for _, dir := range dirs {
		ex := load(t, dir)
		exDeclared, _ := ex.declared()
		for _, v := range keys(ex.vars()) {
			if !exDeclared[v] {
				t.Errorf("%s: var.%s is used but not declared", dir, v)
			}
		}
		mods := ex.blocks("module")
		if len(mods) == 0 {
			t.Errorf("%s uses no module", dir)
		}
		for _, mod := range mods {
			for name := range mod.Body.Attributes {
				if !meta[name] && !declared[name] {
					t.Errorf("%s: module %q passes %s, which the module does not declare", dir, mod.Labels[0], name)
				}
			}
			for name := range required {
				if _, ok := mod.Body.Attributes[name]; !ok {
					t.Errorf("%s: module %q does not pass the required %s", dir, mod.Labels[0], name)
				}
			}
		}
	}
}

// literalList evaluates a local that must be a literal list of strings.
func literalList(t *testing.T, m *module, name string) []string {
	t.Helper()
	for _, l := range m.blocks("locals") {
		attr, ok := l.Body.Attributes[name]
		if !ok {
			continue
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("local.%s is not a literal list: %s", name, diags.Error())
		}
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, e.AsString())
		}
		return out
	}
	t.Fatalf("no local.%s in %s", name, m.dir)
	return nil
}

func TestIAMActionsMatchTheCode(t *testing.T) {
	m := load(t, ".")
	for mode, want := range capture.Actions {
		got := literalList(t, m, "cognito_actions_"+mode)
		if !slices.Equal(got, want) {
			t.Errorf("local.cognito_actions_%s = %v\nthe code calls (capture.Actions[%q]) %v", mode, got, mode, want)
		}
	}
}

func TestFunctionEnvironmentIsReadByTheCode(t *testing.T) {
	m := load(t, ".")
	found := false
	for _, r := range m.blocks("resource") {
		if r.Labels[0] != "aws_lambda_function" {
			continue
		}
		for _, env := range r.Body.Blocks {
			if env.Type != "environment" {
				continue
			}
			vars, ok := env.Body.Attributes["variables"]
			if !ok {
				continue
			}
			obj, ok := vars.Expr.(*hclsyntax.ObjectConsExpr)
			if !ok {
				t.Fatalf("environment variables are not an object literal")
			}
			for _, item := range obj.Items {
				k, diags := item.KeyExpr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("environment key: %s", diags.Error())
				}
				found = true
				if !slices.Contains(capture.EnvVars, k.AsString()) {
					t.Errorf("the function's environment sets %s, which the code never reads (capture.EnvVars)", k.AsString())
				}
			}
		}
	}
	if !found {
		t.Fatal("no aws_lambda_function with environment variables")
	}
}

// locals evaluates every local that needs only var.enable_restore, literals
// and Terraform's collection functions (the IAM action lists); locals that
// read data sources or resources are left out.
func locals(t *testing.T, m *module, enableRestore bool) map[string]cty.Value {
	t.Helper()
	funcs := map[string]function.Function{
		"sort": stdlib.SortFunc, "distinct": stdlib.DistinctFunc, "concat": stdlib.ConcatFunc,
		"setsubtract": stdlib.SetSubtractFunc, "setintersection": stdlib.SetIntersectionFunc,
	}
	vals := map[string]cty.Value{}
	for progress := true; progress; {
		progress = false
		ctx := &hcl.EvalContext{Functions: funcs, Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(map[string]cty.Value{"enable_restore": cty.BoolVal(enableRestore)}),
			"local": cty.ObjectVal(vals),
		}}
		for _, l := range m.blocks("locals") {
			for name, attr := range l.Body.Attributes {
				if _, done := vals[name]; done {
					continue
				}
				if v, diags := attr.Expr.Value(ctx); !diags.HasErrors() && v.IsWhollyKnown() {
					vals[name], progress = v, true
				}
			}
		}
	}
	return vals
}

// grant is one statement of the function's policy: its actions and whether
// its resource is the pool's ARN ("userpool") or any ("").
type grant struct {
	sid      string
	actions  []string
	resource string
}

// lambdaPolicy evaluates the statements of data.aws_iam_policy_document.lambda.
func lambdaPolicy(t *testing.T, m *module, vals map[string]cty.Value) []grant {
	t.Helper()
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(vals)}}
	var out []grant
	for _, d := range m.blocks("data") {
		if d.Labels[0] != "aws_iam_policy_document" || d.Labels[1] != "lambda" {
			continue
		}
		for _, st := range d.Body.Blocks {
			if st.Type != "statement" {
				continue // dynamic statements grant no Cognito action
			}
			g := grant{sid: literalString(t, st.Body.Attributes["sid"].Expr), resource: "other"}
			v, diags := st.Body.Attributes["actions"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("statement %s: actions: %s", g.sid, diags.Error())
			}
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				g.actions = append(g.actions, e.AsString())
			}
			res, ok := st.Body.Attributes["resources"].Expr.(*hclsyntax.TupleConsExpr)
			if ok && len(res.Exprs) == 1 {
				switch e := res.Exprs[0].(type) {
				case *hclsyntax.TemplateExpr:
					if v, diags := e.Value(nil); !diags.HasErrors() && v.AsString() == "*" {
						g.resource = ""
					}
				case *hclsyntax.ScopeTraversalExpr:
					if len(e.Traversal) == 2 && e.Traversal.RootName() == "local" && e.Traversal[1].(hcl.TraverseAttr).Name == "pool_arn" {
						g.resource = "userpool"
					}
				}
			}
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		t.Fatal("no data.aws_iam_policy_document.lambda statements")
	}
	return out
}

func literalString(t *testing.T, e hclsyntax.Expression) string {
	t.Helper()
	v, diags := e.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("not a literal string: %s", diags.Error())
	}
	return v.AsString()
}

// TestIAMGrantsEachActionOnItsResourceType: an action the reference lists
// with the userpool resource type is granted on the pool's ARN only; one with
// no resource type is granted on "*" (a pool ARN would not match it: the
// call is refused). Each exactly once, with and without restores.
func TestIAMGrantsEachActionOnItsResourceType(t *testing.T) {
	m := load(t, ".")
	for _, restore := range []bool{false, true} {
		policy := lambdaPolicy(t, m, locals(t, m, restore))
		want := map[string]bool{}
		for mode, actions := range capture.Actions {
			if mode == "restore" && !restore {
				continue
			}
			for _, a := range actions {
				want[a] = true
			}
		}
		granted := map[string][]grant{}
		for _, g := range policy {
			for _, a := range g.actions {
				granted[a] = append(granted[a], g)
			}
		}
		for _, a := range keys(want) {
			typ, known := capture.ResourceTypes[a]
			switch gs := granted[a]; {
			case !known:
				t.Errorf("%s is called but missing from capture.ResourceTypes (the Service Authorization Reference's table)", a)
			case len(gs) != 1:
				t.Errorf("enable_restore=%v: %s is granted by %d statements, want 1", restore, a, len(gs))
			case gs[0].resource != typ:
				t.Errorf("enable_restore=%v: %s is granted on %q by statement %s; the reference lists resource type %q (\"\" = only \"*\")", restore, a, gs[0].resource, gs[0].sid, typ)
			}
		}
		for a := range granted {
			if strings.HasPrefix(a, "cognito-idp:") && !want[a] {
				t.Errorf("enable_restore=%v: the policy grants %s, which the code does not call", restore, a)
			}
		}
	}
	// The module's literal list of "*" actions is exactly the reference's.
	var anyRes []string
	for _, actions := range capture.Actions {
		for _, a := range actions {
			if typ, ok := capture.ResourceTypes[a]; ok && typ == "" && !slices.Contains(anyRes, a) {
				anyRes = append(anyRes, a)
			}
		}
	}
	sort.Strings(anyRes)
	if got := literalList(t, m, "cognito_actions_any_resource"); !slices.Equal(got, anyRes) {
		t.Errorf("local.cognito_actions_any_resource = %v, want %v (capture.ResourceTypes)", got, anyRes)
	}
}

func TestEventRuleSelfServiceActionsMatchTheCode(t *testing.T) {
	m := load(t, ".")
	if got := literalList(t, m, "self_service_actions"); !slices.Equal(got, capture.SelfServiceChanges) {
		t.Errorf("local.self_service_actions = %v\nthe handler journals (capture.SelfServiceChanges) %v", got, capture.SelfServiceChanges)
	}
}
