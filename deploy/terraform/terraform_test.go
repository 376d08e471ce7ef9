// Package terraform_test checks the Terraform module without Terraform or
// network: every file parses and is formatted as `terraform fmt` would
// (hclwrite.Format is the formatter terraform fmt runs), every variable
// referenced is declared and every declared one used, the examples pass
// only declared inputs and every required one, the IAM action lists are
// exactly what the code calls (iampolicy.Lambda, the table `cogvault iam-policy` prints from), each role is granted its
// function's actions on the resource type the Service Authorization
// Reference lists for them (iampolicy.ResourceTypes), the functions'
// environments set only variables the code reads, and (policy_test.go) what
// each role may do to the repository and the signing key.
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

	"github.com/cogvault/cogvault/internal/capture"
	"github.com/cogvault/cogvault/internal/iampolicy"
	"github.com/cogvault/cogvault/internal/migration"
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
			if src := mod.Body.Attributes["source"]; src != nil && literalString(t, src.Expr) != "../.." {
				continue // a submodule (modules/…): its own inputs
			}
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
			// The module's precondition: exactly one of the two.
			_, one := mod.Body.Attributes["user_pool_id"]
			_, several := mod.Body.Attributes["pools"]
			if one == several {
				t.Errorf("%s: module %q passes %s of user_pool_id and pools, want exactly one", dir, mod.Labels[0], map[bool]string{true: "both", false: "neither"}[one])
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
	for mode, want := range iampolicy.Lambda {
		got := literalList(t, m, "cognito_actions_"+mode)
		if !slices.Equal(got, want) {
			t.Errorf("local.cognito_actions_%s = %v\nthe code calls (iampolicy.Lambda[%q]) %v", mode, got, mode, want)
		}
	}
}

// signingEnvVars are read by the repository's signing code (issue 17):
// COGVAULT_SIGNING_KEY = "kms:<key ARN>" for writers, COGVAULT_REPO_KEY = the
// public key readers verify with. Allowed here until capture.EnvVars lists
// them.
var signingEnvVars = []string{"COGVAULT_SIGNING_KEY", "COGVAULT_REPO_KEY"}

// ageSecretEnvVar is the worker's age identity secret (cmd/cogvault-lambda;
// listed in capture.EnvVars).
const ageSecretEnvVar = "COGVAULT_AGE_IDENTITY_SECRET_ARN"

func TestFunctionEnvironmentIsReadByTheCode(t *testing.T) {
	m := load(t, ".")
	e := evaluate(t, m, map[string]cty.Value{"migration": migrationInput("", "")}) // every function
	for _, f := range e.functions(t) {
		if len(f.env) == 0 {
			t.Errorf("aws_lambda_function.%s has no environment", f.name)
		}
		for _, k := range keysOf(f.env) {
			if !slices.Contains(capture.EnvVars, k) && !slices.Contains(signingEnvVars, k) && !slices.Contains(migration.EnvVars, k) {
				t.Errorf("aws_lambda_function.%s sets %s, which the code never reads (capture.EnvVars)", f.name, k)
			}
		}
	}
}

// literalString evaluates an expression that must be a literal string.
func literalString(t *testing.T, e hclsyntax.Expression) string {
	t.Helper()
	v, diags := e.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("not a literal string: %s", diags.Error())
	}
	return v.AsString()
}

// TestIAMGrantsEachActionOnItsResourceType: each role gets the Cognito
// actions of its function's modes (capture: capture; worker: snapshot, and
// restore when enabled), each exactly once. An action the reference lists
// with the userpool resource type is granted on the pool's ARN only; one
// with no resource type on "*" (a pool ARN would not match it: the call is
// refused).
func TestIAMGrantsEachActionOnItsResourceType(t *testing.T) {
	m := load(t, ".")
	for _, restore := range []bool{false, true} {
		e := evaluate(t, m, map[string]cty.Value{"enable_restore": cty.BoolVal(restore)})
		modes := map[string][]string{"capture": {"capture"}, "worker": {"snapshot"}}
		if restore {
			modes["worker"] = append(modes["worker"], "restore")
		}
		for role, ms := range modes {
			want := map[string]bool{}
			for _, mode := range ms {
				for _, a := range iampolicy.Lambda[mode] {
					want[a] = true
				}
			}
			granted := map[string][]statement{}
			for _, doc := range e.roles(t)[role] {
				for _, st := range e.policy(t, doc) {
					for _, a := range st.actions {
						if strings.HasPrefix(a, "cognito-idp:") {
							granted[a] = append(granted[a], st)
						}
					}
				}
			}
			for _, a := range keys(want) {
				typ, known := iampolicy.ResourceTypes[a]
				switch sts := granted[a]; {
				case !known:
					t.Errorf("%s is called but missing from iampolicy.ResourceTypes (the Service Authorization Reference's table)", a)
				case len(sts) != 1:
					t.Errorf("enable_restore=%v: role %s: %s is granted by %d statements, want 1", restore, role, a, len(sts))
				case resourceType(t, e, sts[0]) != typ:
					t.Errorf("enable_restore=%v: role %s: %s is granted on %v by statement %s; the reference lists resource type %q (\"\" = only \"*\")", restore, role, a, sts[0].resources, sts[0].sid, typ)
				}
			}
			for _, a := range keysOf(granted) {
				if !want[a] {
					t.Errorf("enable_restore=%v: role %s may %s, which its function does not call", restore, role, a)
				}
			}
		}
	}
	// The module's literal list of "*" actions is exactly the reference's.
	var anyRes []string
	for _, actions := range iampolicy.Lambda {
		for _, a := range actions {
			if typ, ok := iampolicy.ResourceTypes[a]; ok && typ == "" && !slices.Contains(anyRes, a) {
				anyRes = append(anyRes, a)
			}
		}
	}
	sort.Strings(anyRes)
	if got := literalList(t, m, "cognito_actions_any_resource"); !slices.Equal(got, anyRes) {
		t.Errorf("local.cognito_actions_any_resource = %v, want %v (iampolicy.ResourceTypes)", got, anyRes)
	}
}

// resourceType is "userpool" for a statement on the pool's ARN alone, ""
// for one on "*" alone, "other" otherwise.
func resourceType(t *testing.T, e *evaluated, st statement) string {
	switch {
	case slices.Equal(st.resources, []string{e.poolARN(t)}):
		return "userpool"
	case slices.Equal(st.resources, []string{"*"}):
		return ""
	}
	return "other"
}

func TestEventRuleSelfServiceActionsMatchTheCode(t *testing.T) {
	m := load(t, ".")
	if got := literalList(t, m, "self_service_actions"); !slices.Equal(got, capture.SelfServiceChanges) {
		t.Errorf("local.self_service_actions = %v\nthe handler journals (capture.SelfServiceChanges) %v", got, capture.SelfServiceChanges)
	}
}
