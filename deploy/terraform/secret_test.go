package terraform_test

import (
	"slices"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// The age identity secret of an encrypted repository (issue 14's contract
// with the worker: COGVAULT_AGE_IDENTITY_SECRET_ARN, docs/cognito-facts.md
// §30.4).
const (
	ageSecret    = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cogvault-age-AbC123"
	ageSecretKey = "arn:aws:kms:eu-west-1:123456789012:key/age-key"
)

// ageGrants are what role may do with the secret and with key: the
// GetSecretValue resources, and the kms:ViaService values of every
// kms:Decrypt statement on key ("" for one without the condition).
func ageGrants(t *testing.T, e *evaluated, role, key string) (secrets, via []string) {
	t.Helper()
	for _, doc := range e.roles(t)[role] {
		for _, st := range e.policy(t, doc) {
			if st.effect == "Deny" {
				continue
			}
			if st.covers("secretsmanager:GetSecretValue") {
				secrets = append(secrets, st.resources...)
			}
			if st.covers("kms:Decrypt") && (slices.Contains(st.resources, key) || slices.Contains(st.resources, "*")) {
				v := ""
				for _, c := range st.conditions {
					if c.test == "StringEquals" && c.variable == "kms:ViaService" {
						v = c.values[0]
					}
				}
				via = append(via, v)
			}
		}
	}
	return secrets, via
}

// TestAgeIdentitySecretReachesTheWorkerOnly: with age_identity_secret_arn
// the worker alone gets the variable and GetSecretValue on that secret;
// with its key, kms:Decrypt on the key only through Secrets Manager in the
// secret's Region. The capture and migration functions get neither, and
// without the input nobody does.
func TestAgeIdentitySecretReachesTheWorkerOnly(t *testing.T) {
	m := load(t, ".")
	for _, c := range []struct {
		name       string
		secret     cty.Value
		key        cty.Value
		wantSecret []string
		wantVia    []string
	}{
		{"none", cty.NullVal(cty.String), cty.NullVal(cty.String), nil, nil},
		{"aws managed key", cty.StringVal(ageSecret), cty.NullVal(cty.String), []string{ageSecret}, nil},
		{"customer managed key", cty.StringVal(ageSecret), cty.StringVal(ageSecretKey), []string{ageSecret}, []string{"secretsmanager.eu-west-1.amazonaws.com"}},
	} {
		e := evaluate(t, m, map[string]cty.Value{"age_identity_secret_arn": c.secret, "age_identity_secret_kms_key_arn": c.key,
			"migration": migrationInput("", "")})
		if failed := e.validate(t, "age_identity_secret_arn", "age_identity_secret_kms_key_arn"); len(failed) > 0 {
			t.Fatalf("%s: the module refuses %v", c.name, failed)
		}
		for _, f := range e.functions(t) {
			v, set := f.env[ageSecretEnvVar]
			switch {
			case f.name == "worker":
				want := ""
				if !c.secret.IsNull() {
					want = ageSecret
				}
				if !set || e.str(t, v) != want {
					t.Errorf("%s: the worker's %s is not %q", c.name, ageSecretEnvVar, want)
				}
			case set:
				t.Errorf("%s: aws_lambda_function.%s gets %s", c.name, f.name, ageSecretEnvVar)
			}
			secrets, via := ageGrants(t, e, f.role, ageSecretKey)
			wantSecret, wantVia := c.wantSecret, c.wantVia
			if f.name != "worker" {
				wantSecret, wantVia = nil, nil
			}
			if !slices.Equal(secrets, wantSecret) || !slices.Equal(via, wantVia) {
				t.Errorf("%s: role %s may read secrets %v and decrypt with the key via %q, want %v and %q", c.name, f.role, secrets, via, wantSecret, wantVia)
			}
		}
	}
}

// A key without its secret, a key in another Region than the secret, and
// a partial secret ARN (IAM would match nothing) are refused before
// anything is created.
func TestAgeIdentitySecretInputsAreChecked(t *testing.T) {
	m := load(t, ".")
	worker := func(e *evaluated) []string {
		for _, in := range e.instances(t, "aws_lambda_function") {
			if e.bare(in.name) == "worker" {
				return failedPreconditions(t, in.body, in.ctx)
			}
		}
		t.Fatal("no worker function")
		return nil
	}
	for _, c := range []struct {
		name        string
		secret, key string
		refused     bool
	}{
		{"both", ageSecret, ageSecretKey, false},
		{"key alone", "", ageSecretKey, true},
		{"key in another Region", ageSecret, "arn:aws:kms:us-east-1:123456789012:key/age-key", true},
	} {
		in := map[string]cty.Value{"age_identity_secret_arn": cty.NullVal(cty.String), "age_identity_secret_kms_key_arn": cty.StringVal(c.key)}
		if c.secret != "" {
			in["age_identity_secret_arn"] = cty.StringVal(c.secret)
		}
		if got := len(worker(evaluate(t, m, in))) > 0; got != c.refused {
			t.Errorf("%s: refused %v, want %v", c.name, got, c.refused)
		}
	}
	for arn, ok := range map[string]bool{ageSecret: true, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cogvault-age": false,
		"arn:aws:ssm:eu-west-1:123456789012:parameter/age-AbC123": false} {
		e := evaluate(t, m, map[string]cty.Value{"age_identity_secret_arn": cty.StringVal(arn)})
		if refused := slices.Contains(e.validate(t, "age_identity_secret_arn"), "age_identity_secret_arn"); refused == ok {
			t.Errorf("age_identity_secret_arn %s: refused %v, want accepted %v", arn, refused, ok)
		}
	}
}

// With pools, a pool may name its own secret (and key); it then does not
// take the module's key, and each worker reads only its own secret.
func TestAgeIdentitySecretPerPool(t *testing.T) {
	m := load(t, ".")
	own := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:staff-age-XyZ789"
	pools := map[string]cty.Value{}
	for k, p := range testPools("prod").AsValueMap() {
		attrs := p.AsValueMap()
		attrs["age_identity_secret_arn"], attrs["age_identity_secret_kms_key_arn"] = cty.NullVal(cty.String), cty.NullVal(cty.String)
		if k == "staff" {
			attrs["age_identity_secret_arn"] = cty.StringVal(own)
		}
		pools[k] = cty.ObjectVal(attrs)
	}
	e := evaluate(t, m, map[string]cty.Value{"user_pool_id": cty.NullVal(cty.String), "pools": cty.MapVal(pools),
		"age_identity_secret_arn": cty.StringVal(ageSecret), "age_identity_secret_kms_key_arn": cty.StringVal(ageSecretKey)})
	if failed := e.validate(t, "pools"); len(failed) > 0 {
		t.Fatalf("the module refuses %v", failed)
	}
	for key, want := range map[string]struct {
		secret string
		via    []string
	}{"prod": {ageSecret, []string{"secretsmanager.eu-west-1.amazonaws.com"}}, "staff": {own, nil}} {
		p := e.forPool(key)
		secrets, via := ageGrants(t, p, "worker", ageSecretKey)
		if !slices.Equal(secrets, []string{want.secret}) || !slices.Equal(via, want.via) {
			t.Errorf("pool %s: the worker may read %v and decrypt via %q, want %s and %q", key, secrets, via, want.secret, want.via)
		}
		for _, f := range p.functions(t) {
			if f.name == "worker" && p.str(t, f.env[ageSecretEnvVar]) != want.secret {
				t.Errorf("pool %s: the worker's %s is not %s", key, ageSecretEnvVar, want.secret)
			}
		}
	}
}
