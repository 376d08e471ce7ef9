package terraform_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// validationFuncs are the functions the module's validation conditions call.
var validationFuncs = map[string]function.Function{
	"can": tryfunc.CanFunc, "regex": stdlib.RegexFunc, "contains": stdlib.ContainsFunc,
	"alltrue": allTrue, "floor": stdlib.FloorFunc, "length": stdlib.LengthFunc,
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

// TestSeveralPools: the several-pools example instantiates the module once
// per pool; with two pools (the longest key it admits), both instances pass
// the module's validations and no name the module builds is shared.
func TestSeveralPools(t *testing.T) {
	m := load(t, ".")
	ex := load(t, filepath.Join("examples", "several-pools"))
	mods := ex.blocks("module")
	if len(mods) != 1 {
		t.Fatalf("%d module blocks, want one with for_each", len(mods))
	}
	mod := mods[0]
	if _, ok := mod.Body.Attributes["for_each"]; !ok {
		t.Fatal("the several-pools example does not instantiate the module per pool (for_each)")
	}
	pools := map[string]string{strings.Repeat("k", 27): "eu-west-1_AbCdEf123", "staff": "eu-west-1_XyZ987654"}
	names := map[string]string{} // generated name -> the pool that made it
	for key, pool := range pools {
		each := cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key), "value": cty.ObjectVal(map[string]cty.Value{
			"user_pool_id": cty.StringVal(pool), "enable_restore": cty.False,
			"retention": cty.ObjectVal(map[string]cty.Value{"last": cty.NumberIntVal(3), "daily": cty.NumberIntVal(7), "weekly": cty.NumberIntVal(5), "monthly": cty.NumberIntVal(12)}),
		})})
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"each": each, "var": cty.ObjectVal(map[string]cty.Value{"alarm_topic_arn": cty.NullVal(cty.String)})},
			Functions: map[string]function.Function{"lower": stdlib.LowerFunc}}
		inputs := map[string]cty.Value{}
		for name, attr := range mod.Body.Attributes {
			if name == "source" || name == "for_each" {
				continue
			}
			v, diags := attr.Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("module input %s: %s", name, diags.Error())
			}
			inputs[name] = v
		}
		e := evaluate(t, m, inputs)
		if failed := e.validate(t, "function_name", "bucket_name_prefix", "user_pool_id", "retention", "alarm_topic_arn"); len(failed) > 0 {
			t.Errorf("pool %s (key %s): the module refuses %v", pool, key, failed)
		}
		for typ, l := range nameLimits {
			for _, in := range e.instances(t, typ) {
				n := in.str(t, l.attr)
				if len(n) > l.limit {
					t.Errorf("pool %s: %s.%s %q is longer than %d", pool, typ, in.name, n, l.limit)
				}
				if other, dup := names[typ+" "+n]; dup && other != pool {
					t.Errorf("%s %q is made for both %s and %s", typ, n, other, pool)
				}
				names[typ+" "+n] = pool
			}
		}
		if bp := inputs["bucket_name_prefix"]; bp.IsNull() || !strings.Contains(bp.AsString(), strings.ToLower(key)) {
			t.Errorf("pool %s: bucket_name_prefix %v does not name the pool's key", pool, bp)
		}
	}
	if len(names) == 0 {
		t.Fatal("no names generated")
	}
}
