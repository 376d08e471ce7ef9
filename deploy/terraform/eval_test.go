package terraform_test

// References to resources and data sources, instances of blocks with
// for_each or count, and the merging of policy documents, for the
// evaluator in policy_test.go.

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// startsWith is Terraform's startswith.
var startsWith = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "s", Type: cty.String}, {Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.Bool),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.BoolVal(strings.HasPrefix(args[0].AsString(), args[1].AsString())), nil
	},
})

// tfLength is Terraform's length: of a string (in characters), a
// collection, or an object (its attributes; Terraform's lang/funcs
// LengthFunc), such as local.pools, a for expression's object.
var tfLength = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		switch ty := args[0].Type(); {
		case ty == cty.String:
			return stdlib.Strlen(args[0])
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		}
		return stdlib.Length(args[0])
	},
})

// address is "type.name" for a resource, "data.type.name" for a data source.
func address(b *hclsyntax.Block) string {
	if b.Type == "data" {
		return "data." + b.Labels[0] + "." + b.Labels[1]
	}
	return b.Labels[0] + "." + b.Labels[1]
}

// declared lists the module's resource and data blocks by address.
func (m *module) declaredBlocks() map[string]*hclsyntax.Block {
	out := map[string]*hclsyntax.Block{}
	for _, typ := range []string{"resource", "data"} {
		for _, b := range m.blocks(typ) {
			out[address(b)] = b
		}
	}
	return out
}

// referencedAttrs collects, per address, the attributes the module reads
// from it: aws_x.y.arn, aws_x.y[0].arn and aws_x.y[each.key].arn all read
// "arn" of aws_x.y.
func referencedAttrs(m *module) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	note := func(tr hcl.Traversal, rest hcl.Traversal) {
		n := 2
		if tr.RootName() == "data" {
			n = 3
		}
		if len(tr) < n {
			return
		}
		var names []string
		for _, step := range tr[:n] {
			switch s := step.(type) {
			case hcl.TraverseRoot:
				names = append(names, s.Name)
			case hcl.TraverseAttr:
				names = append(names, s.Name)
			default:
				return
			}
		}
		addr := strings.Join(names, ".")
		if out[addr] == nil {
			out[addr] = map[string]bool{}
		}
		after := append(tr[n:], rest...)
		if len(after) > 0 {
			if _, ok := after[0].(hcl.TraverseIndex); ok {
				after = after[1:]
			}
		}
		if len(after) > 0 {
			if a, ok := after[0].(hcl.TraverseAttr); ok {
				out[addr][a.Name] = true
			}
		}
	}
	skip := map[string]bool{"var": true, "local": true, "each": true, "count": true, "path": true, "statement": true, "self": true, "terraform": true}
	for _, b := range m.bodies {
		hclsyntax.VisitAll(b, func(n hclsyntax.Node) hcl.Diagnostics {
			switch e := n.(type) {
			case *hclsyntax.ScopeTraversalExpr:
				if !skip[e.Traversal.RootName()] {
					note(e.Traversal, nil)
				}
			case *hclsyntax.RelativeTraversalExpr:
				if ix, ok := e.Source.(*hclsyntax.IndexExpr); ok {
					if c, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr); ok && !skip[c.Traversal.RootName()] {
						note(c.Traversal, append(hcl.Traversal{hcl.TraverseIndex{}}, e.Traversal...))
					}
				}
			}
			return nil
		})
	}
	return out
}

// symbols gives every resource and data source the module references a
// value whose attributes are their own names:
// aws_iam_role.capture.arn = "aws_iam_role.capture.arn",
// aws_iam_role.capture["k"].arn = `aws_iam_role.capture["k"].arn` (for_each,
// with the keys given), aws_s3_bucket.this[0].id = "aws_s3_bucket.this[0].id"
// (count: one instance).
func symbols(m *module, keys map[string][]cty.Value) map[string]cty.Value {
	blocks := m.declaredBlocks()
	tree := map[string]map[string]cty.Value{} // root -> type (or "data") -> value
	set := func(addr string, v cty.Value) {
		parts := strings.SplitN(addr, ".", 2)
		if tree[parts[0]] == nil {
			tree[parts[0]] = map[string]cty.Value{}
		}
		tree[parts[0]][parts[1]] = v
	}
	for addr, attrs := range referencedAttrs(m) {
		obj := func(prefix string) cty.Value {
			// arn, id and name too, for what a for expression reads
			// through its own variable (for k, g in aws_x.y : g.arn).
			o := map[string]cty.Value{}
			for _, a := range append(keysOf(attrs), "arn", "id", "name") {
				o[a] = cty.StringVal(prefix + "." + a)
			}
			return cty.ObjectVal(o)
		}
		b := blocks[addr]
		var v cty.Value
		switch {
		case b != nil && b.Body.Attributes["for_each"] != nil:
			inst := map[string]cty.Value{}
			for _, k := range keys[addr] {
				inst[k.AsString()] = obj(addr + "[" + strconv.Quote(k.AsString()) + "]")
			}
			v = cty.ObjectVal(inst)
		case b != nil && b.Body.Attributes["count"] != nil:
			v = cty.TupleVal([]cty.Value{obj(addr + "[0]")})
		default:
			v = obj(addr)
		}
		set(addr, v)
	}
	out := map[string]cty.Value{}
	for root, sub := range tree {
		if root != "data" {
			for name, v := range sub {
				if out[root].IsNull() || !out[root].Type().IsObjectType() {
					out[root] = cty.ObjectVal(map[string]cty.Value{name: v})
					continue
				}
				o := out[root].AsValueMap()
				o[name] = v
				out[root] = cty.ObjectVal(o)
			}
			continue
		}
		types := map[string]map[string]cty.Value{}
		for typName, v := range sub {
			typ, name, _ := strings.Cut(typName, ".")
			if types[typ] == nil {
				types[typ] = map[string]cty.Value{}
			}
			types[typ][name] = v
		}
		d := map[string]cty.Value{}
		for typ, names := range types {
			d[typ] = cty.ObjectVal(names)
		}
		out["data"] = cty.ObjectVal(d)
	}
	return out
}

// forEachKeys evaluates every for_each of the module's resources and data
// sources; one that cannot be evaluated yet gets no keys.
func (e *evaluated) forEachKeys() map[string][]cty.Value {
	out := map[string][]cty.Value{}
	for addr, b := range e.m.declaredBlocks() {
		fe, ok := b.Body.Attributes["for_each"]
		if !ok {
			continue
		}
		v, diags := fe.Expr.Value(e.ctx)
		if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
			continue
		}
		out[addr] = instanceKeys(v)
	}
	return out
}

// instanceKeys are the keys of a for_each value: a map's or object's keys,
// a set's elements.
func instanceKeys(v cty.Value) []cty.Value {
	var out []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if v.Type().IsSetType() {
			k = val
		}
		out = append(out, k)
	}
	return out
}

// eachContext binds each.key and each.value of the for_each instance key of
// block b.
func (e *evaluated) eachContext(t *testing.T, b *hclsyntax.Block, key string) *hcl.EvalContext {
	t.Helper()
	v, diags := b.Body.Attributes["for_each"].Expr.Value(e.ctx)
	if diags.HasErrors() {
		t.Fatalf("%s for_each: %s", address(b), diags.Error())
	}
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if v.Type().IsSetType() {
			k = val
		}
		if k.AsString() == key {
			ctx := e.ctx.NewChild()
			ctx.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})}
			return ctx
		}
	}
	t.Fatalf("%s has no instance %q", address(b), key)
	return nil
}

// splitInstance splits `name["key"]` into name and key ("" without one).
func splitInstance(t *testing.T, ref string) (name, key string) {
	t.Helper()
	name, rest, ok := strings.Cut(ref, "[")
	if !ok {
		return ref, ""
	}
	k, err := strconv.Unquote(strings.TrimSuffix(rest, "]"))
	if err != nil {
		return name, strings.TrimSuffix(rest, "]") // a count index
	}
	return name, k
}

// policy evaluates data.aws_iam_policy_document.<doc>, where doc is a name
// or `name["key"]` for one instance of a document with for_each, merged as
// the provider merges (its internal/service/iam/policy_document_data_source.go
// and policy_model.go, IAMPolicyDoc.Merge): the source_policy_documents in
// order (a Sid twice among them is an error), then the document's own
// statements (a Sid twice among them is an error; one with a source's Sid
// replaces that statement in place), then the override_policy_documents in
// order (each replaces the statement with its Sid, or is added).
func (e *evaluated) policy(t *testing.T, doc string) []statement {
	t.Helper()
	name, key := splitInstance(t, doc)
	b := e.m.declaredBlocks()["data.aws_iam_policy_document."+name]
	if b == nil {
		t.Fatalf("no data.aws_iam_policy_document.%s", name)
	}
	ctx := e.ctx
	if b.Body.Attributes["for_each"] != nil {
		if key == "" {
			key = e.focus
		}
		if key == "" {
			t.Fatalf("data.aws_iam_policy_document.%s has for_each: name an instance", name)
		}
		ctx = e.eachContext(t, b, key)
	}
	var merged []statement
	sids := map[string]bool{}
	for _, src := range e.documentRefs(t, doc, b, "source_policy_documents", ctx) {
		for _, st := range e.policy(t, src) {
			if st.sid != "" && sids[st.sid] {
				t.Fatalf("%s: Sid %q twice in source_policy_documents: the provider refuses the document", doc, st.sid)
			}
			sids[st.sid] = st.sid != ""
			merged = mergeStatement(merged, st)
		}
	}
	own := map[string]bool{}
	for _, st := range e.ownStatements(t, doc, b, ctx) {
		if st.sid != "" && own[st.sid] {
			t.Fatalf("%s: duplicate Sid %q: the provider refuses the document", doc, st.sid)
		}
		own[st.sid] = st.sid != ""
		merged = mergeStatement(merged, st)
	}
	for _, over := range e.documentRefs(t, doc, b, "override_policy_documents", ctx) {
		for _, st := range e.policy(t, over) {
			merged = mergeStatement(merged, st)
		}
	}
	return merged
}

// mergeStatement is IAMPolicyDoc.Merge for one statement.
func mergeStatement(doc []statement, st statement) []statement {
	if st.sid != "" {
		for i := range doc {
			if doc[i].sid == st.sid {
				doc[i] = st
				return doc
			}
		}
	}
	return append(doc, st)
}

func (e *evaluated) ownStatements(t *testing.T, doc string, b *hclsyntax.Block, ctx *hcl.EvalContext) []statement {
	t.Helper()
	var out []statement
	for _, blk := range b.Body.Blocks {
		switch {
		case blk.Type == "statement":
			out = append(out, e.statement(t, doc, blk.Body, ctx))
		case blk.Type == "dynamic" && blk.Labels[0] == "statement":
			out = append(out, e.dynamic(t, doc, blk, ctx)...)
		}
	}
	return out
}

// documentRefs evaluates a list of documents; each must be another
// aws_iam_policy_document's json, which these tests can read.
func (e *evaluated) documentRefs(t *testing.T, doc string, b *hclsyntax.Block, attr string, ctx *hcl.EvalContext) []string {
	t.Helper()
	a, ok := b.Body.Attributes[attr]
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
		s := x.AsString()
		ref, ok := strings.CutPrefix(s, "data.aws_iam_policy_document.")
		if !ok || !strings.HasSuffix(ref, ".json") {
			t.Fatalf("%s: %s holds %q: these tests read only other aws_iam_policy_document's json", doc, attr, s)
		}
		out = append(out, strings.TrimSuffix(ref, ".json"))
	}
	return out
}

// roles maps each aws_iam_role instance to the policy documents attached to
// it, and fails on any other way of attaching a policy (managed policies,
// inline blocks), which these tests would not see.
func (e *evaluated) roles(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range e.m.blocks("resource") {
		switch r.Labels[0] {
		case "aws_iam_role":
			for _, attr := range []string{"managed_policy_arns", "inline_policy"} {
				if _, ok := r.Body.Attributes[attr]; ok {
					t.Fatalf("aws_iam_role.%s sets %s: attach policies with aws_iam_role_policy so the tests see them", r.Labels[1], attr)
				}
			}
			for _, b := range r.Body.Blocks {
				if b.Type == "inline_policy" {
					t.Fatalf("aws_iam_role.%s has an inline_policy block: use aws_iam_role_policy", r.Labels[1])
				}
			}
		case "aws_iam_role_policy_attachment", "aws_iam_policy", "aws_iam_role_policies_exclusive", "aws_iam_policy_attachment":
			t.Fatalf("%s.%s: the tests read only aws_iam_role_policy documents", r.Labels[0], r.Labels[1])
		}
	}
	for _, in := range e.instances(t, "aws_iam_role") {
		out[e.bare(in.name)] = nil
	}
	for _, in := range e.instances(t, "aws_iam_role_policy") {
		role := e.bare(trimRef(t, in.str(t, "role"), "aws_iam_role.", ".id"))
		doc := trimRef(t, in.str(t, "policy"), "data.aws_iam_policy_document.", ".json")
		out[role] = append(out[role], doc)
	}
	return out
}

// bare drops the focused pool's key from an instance name:
// `capture["default"]` is "capture" when "default" is the focus; and the
// index of a block with count, which instances() leaves out:
// `migration[0]` is "migration".
func (e *evaluated) bare(name string) string {
	name = strings.TrimSuffix(name, "[0]")
	if e.focus == "" {
		return name
	}
	return strings.TrimSuffix(name, "["+strconv.Quote(e.focus)+"]")
}

// addr is what a reference to attr of the focused pool's instance of
// resource evaluates to: aws_x.y["default"].arn.
func (e *evaluated) addr(resource, attr string) string {
	return resource + "[" + strconv.Quote(e.focus) + "]." + attr
}

// forPool is e focused on another pool.
func (e *evaluated) forPool(key string) *evaluated {
	c := *e
	c.focus = key
	c.ctx = c.context()
	return &c
}

// poolARN is the focused pool's ARN (local.pool_arns).
func (e *evaluated) poolARN(t *testing.T) string {
	t.Helper()
	arns, ok := e.locals["pool_arns"]
	if !ok || !arns.Type().IsObjectType() || !arns.Type().HasAttribute(e.focus) {
		t.Fatalf("local.pool_arns has no pool %q", e.focus)
	}
	return arns.GetAttr(e.focus).AsString()
}

// trimRef returns what lies between prefix and suffix in s.
func trimRef(t *testing.T, s, prefix, suffix string) string {
	t.Helper()
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) {
		t.Fatalf("%q is not a reference %s….%s", s, prefix, suffix)
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, prefix), suffix)
}

// ref returns the instance an attribute refers to, such as "capture" for
// role = aws_iam_role.capture.arn, evaluated in ctx.
func ref(t *testing.T, ctx *hcl.EvalContext, expr hclsyntax.Expression, prefix string) string {
	t.Helper()
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", expr.Range(), diags.Error())
	}
	s, ok := strings.CutPrefix(v.AsString(), prefix+".")
	if !ok {
		t.Fatalf("%s: %s is not a reference to %s", expr.Range(), v.AsString(), prefix)
	}
	i := strings.LastIndex(s, ".")
	if i < 0 {
		t.Fatalf("%s: %s names no attribute", expr.Range(), v.AsString())
	}
	return s[:i]
}

// TestPolicyMergeFollowsTheProvider: the evaluator merges source and
// override documents as the provider does (IAMPolicyDoc.Merge): sources in
// order, then the document's own statements replacing a source's statement
// with the same Sid in place, then overrides replacing by Sid or appended.
func TestPolicyMergeFollowsTheProvider(t *testing.T) {
	dir := t.TempDir()
	src := `
data "aws_iam_policy_document" "a" {
  statement {
    sid       = "One"
    actions   = ["s3:GetObject"]
    resources = ["a1"]
  }
  statement {
    actions   = ["s3:ListBucket"]
    resources = ["a2"]
  }
}

data "aws_iam_policy_document" "b" {
  for_each = { x = "bx" }

  statement {
    sid       = "Two"
    actions   = ["s3:PutObject"]
    resources = [each.value]
  }
}

data "aws_iam_policy_document" "over" {
  statement {
    sid       = "Two"
    actions   = ["s3:DeleteObject"]
    resources = ["over"]
  }
  statement {
    sid       = "Three"
    actions   = ["kms:Sign"]
    resources = ["over3"]
  }
}

data "aws_iam_policy_document" "doc" {
  source_policy_documents   = [data.aws_iam_policy_document.a.json, data.aws_iam_policy_document.b["x"].json]
  override_policy_documents = [data.aws_iam_policy_document.over.json]

  statement {
    sid       = "One"
    actions   = ["s3:GetObject"]
    resources = ["own"]
  }
  statement {
    actions   = ["sqs:SendMessage"]
    resources = ["own2"]
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	e := evaluate(t, load(t, dir), nil)
	var got []string
	for _, st := range e.policy(t, "doc") {
		got = append(got, st.sid+"="+strings.Join(st.resources, ","))
	}
	want := []string{"One=own", "=a2", "Two=over", "=own2", "Three=over3"}
	if !slices.Equal(got, want) {
		t.Errorf("merged statements %v, want %v", got, want)
	}
}
