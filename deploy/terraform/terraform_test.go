// Package terraform_test checks the Terraform module without Terraform or
// network: every file parses and is formatted as `terraform fmt` would
// (hclwrite.Format is the formatter terraform fmt runs), every variable
// referenced is declared and every declared one used, the examples pass
// only declared inputs and every required one, the IAM action lists are
// exactly what the code calls (capture.Actions), and the function's
// environment sets only variables the code reads.
package terraform_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

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
