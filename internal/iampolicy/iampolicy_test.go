package iampolicy

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Every action a mode calls has its resource type recorded: split sends an
// unknown one to "*", which would hide a missing row.
func TestEveryActionHasAResourceType(t *testing.T) {
	for _, m := range Modes {
		for _, a := range sorted(m.Cognito, m.NewPool, m.Dependent, m.WithRestore().Cognito) {
			if _, ok := ResourceTypes[a]; !ok {
				t.Errorf("mode %s: %s is not in ResourceTypes (the Service Authorization Reference's table)", m.Name, a)
			}
		}
	}
	for mode, actions := range Lambda {
		if !slices.IsSorted(actions) || len(slices.Compact(slices.Clone(actions))) != len(actions) {
			t.Errorf("Lambda[%q] is not sorted and unique", mode)
		}
	}
}

// The Lambda modes grant exactly what the Terraform module grants the
// functions (deploy/terraform checks the module against Lambda).
func TestLambdaModesAreTheLambdaTable(t *testing.T) {
	capture, _ := Lookup("lambda-capture")
	worker, _ := Lookup("lambda-worker")
	if !slices.Equal(capture.Cognito, Lambda["capture"]) || !slices.Equal(worker.Cognito, Lambda["snapshot"]) ||
		!slices.Equal(worker.WithRestore().Cognito, sorted(Lambda["snapshot"], Lambda["restore"])) {
		t.Fatal("lambda modes differ from the Lambda table")
	}
}

func TestBuildScopesEachStatement(t *testing.T) {
	m, _ := Lookup("backup")
	d := Build(m, Options{Region: "eu-west-1", Account: "123456789012", PoolID: "eu-west-1_X", Bucket: "b", Prefix: "p"})
	b, _ := json.Marshal(d)
	for _, want := range []string{
		`"Version":"2012-10-17"`,
		`"Resource":["arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_X"]`,
		`"Action":["cognito-idp:DescribeUserPoolDomain","cognito-idp:GetProvisionedLimit"],"Resource":["*"]`,
		`"Resource":["arn:aws:s3:::b/p/*"]`,
		`"Condition":{"StringLike":{"s3:prefix":["p/*"]}}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("policy lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "kms:") || strings.Contains(string(b), "iam:PassRole") {
		t.Errorf("backup without --kms-key/--signing-key grants KMS or PassRole:\n%s", b)
	}
	if p := PartitionOf("cn-north-1"); p != "aws-cn" {
		t.Errorf("PartitionOf(cn-north-1) = %s", p)
	}
}

func TestHelpListsEveryGrantedAction(t *testing.T) {
	for _, m := range Modes {
		h := Help(m, 78)
		for _, st := range Build(m, Options{Bucket: "b", KMSKey: "k", SigningKey: "s", ImportRoleARN: "r"}).Statement {
			for _, a := range st.Action {
				if !strings.Contains(h, a) {
					t.Errorf("%s: help lacks %s:\n%s", m.Name, a, h)
				}
			}
		}
		for _, l := range strings.Split(strings.TrimSuffix(h, "\n"), "\n") {
			if len(l) > 78 {
				t.Errorf("%s: help line over 78 columns: %q", m.Name, l)
			}
		}
	}
}

// A restore that keeps its state in the repository writes, signs and
// replaces its checkpoints there: only then, and only under checkpoints/.
func TestStateInRepoGrantsCheckpointWrites(t *testing.T) {
	restore, _ := Lookup("restore")
	const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	base := Options{Region: "eu-west-1", Account: "123456789012", PoolID: "eu-west-1_AbC", Bucket: "b", Prefix: "p", SigningKey: key}
	grants := func(d Document, action, resource string) bool {
		return slices.ContainsFunc(d.Statement, func(s Statement) bool {
			return slices.Contains(s.Action, action) && slices.Contains(s.Resource, resource)
		})
	}
	plain := Build(restore, base)
	if grants(plain, "s3:PutObject", "arn:aws:s3:::b/p/checkpoints/*") || grants(plain, "kms:Sign", key) {
		t.Errorf("a plain restore may write checkpoints or sign:\n%+v", plain)
	}
	with := base
	with.StateInRepo = true
	d := Build(restore, with)
	if !grants(d, "s3:PutObject", "arn:aws:s3:::b/p/checkpoints/*") || !grants(d, "kms:Sign", key) {
		t.Errorf("restore --state-in-repo may not write and sign its checkpoints:\n%+v", d)
	}
	// The sub mapping is replaced at the end of each run: delete, then put.
	if !grants(d, "s3:DeleteObject", "arn:aws:s3:::b/p/checkpoints/*") {
		t.Errorf("restore --state-in-repo may not replace its sub mapping:\n%+v", d)
	}
	if grants(d, "s3:PutObject", "arn:aws:s3:::b/p/*") || grants(d, "s3:DeleteObject", "arn:aws:s3:::b/p/*") {
		t.Errorf("restore --state-in-repo may write or delete outside checkpoints/:\n%+v", d)
	}
}

// The migration function: source actions on the source pool (or only
// sts:AssumeRole on the source role), AdminAddUserToGroup and AdminGetUser
// (PostAuthentication's creation-time check) on the target,
// records under migrations/<target>/ only, config.json read, kms:Sign.
func TestLambdaMigrationGrants(t *testing.T) {
	m, ok := Lookup("lambda-migration")
	if !ok {
		t.Fatal("no mode lambda-migration")
	}
	const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	o := Options{Region: "eu-west-1", Account: "123456789012", PoolID: "eu-west-1_Target", SourcePoolID: "us-east-2_Source",
		Bucket: "b", Prefix: "p", SigningKey: key}
	pairs := func(d Document) map[string]bool {
		out := map[string]bool{}
		for _, st := range d.Statement {
			for _, a := range st.Action {
				for _, r := range st.Resource {
					out[a+" "+r] = true
				}
			}
		}
		return out
	}
	src, tgt := "arn:aws:cognito-idp:us-east-2:123456789012:userpool/us-east-2_Source", "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Target"
	want := map[string]bool{
		"cognito-idp:AdminInitiateAuth " + src: true, "cognito-idp:AdminGetUser " + src: true, "cognito-idp:AdminListGroupsForUser " + src: true,
		"cognito-idp:AdminAddUserToGroup " + tgt: true, "cognito-idp:AdminGetUser " + tgt: true,
		"s3:GetObject arn:aws:s3:::b/p/config.json": true, "s3:ListBucket arn:aws:s3:::b": true,
		"s3:GetObject arn:aws:s3:::b/p/migrations/eu-west-1_Target/*":    true,
		"s3:PutObject arn:aws:s3:::b/p/migrations/eu-west-1_Target/*":    true,
		"s3:DeleteObject arn:aws:s3:::b/p/migrations/eu-west-1_Target/*": true,
		"kms:Sign " + key: true,
	}
	if got := pairs(Build(m, o)); !maps.Equal(got, want) {
		t.Errorf("lambda-migration grants\n%v\nwant\n%v", keysSorted(got), keysSorted(want))
	}
	// A source in another account: the source actions come from its role.
	o.SourceRoleARN, o.SourceAccount = "arn:aws:iam::111122223333:role/cogvault-migration-source", "111122223333"
	for k := range want {
		if strings.Contains(k, src) {
			delete(want, k)
		}
	}
	want["sts:AssumeRole "+o.SourceRoleARN] = true
	if got := pairs(Build(m, o)); !maps.Equal(got, want) {
		t.Errorf("lambda-migration with a source role grants\n%v\nwant\n%v", keysSorted(got), keysSorted(want))
	}
}

func keysSorted(m map[string]bool) []string {
	out := slices.Collect(maps.Keys(m))
	slices.Sort(out)
	return out
}

// checkpoints remove (and forget, prune) delete under the repository's
// prefix: the backup mode's repository statements are what they need.
// The drill mode lists pools on "*" (the sweep), deletes on userpool/* in
// the new pool's Region, and only reads the repository.
func TestBackupAndDrillModesCoverTheirCommands(t *testing.T) {
	o := Options{Region: "eu-west-1", Account: "123456789012", Bucket: "b", Prefix: "p"}
	grants := func(mode, action, resource string) bool {
		m, _ := Lookup(mode)
		for _, st := range Build(m, o).Statement {
			if slices.Contains(st.Action, action) && slices.Contains(st.Resource, resource) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		mode, action, resource string
		want                   bool
	}{
		{"backup", "s3:DeleteObject", "arn:aws:s3:::b/p/*", true},
		{"backup", "s3:ListBucket", "arn:aws:s3:::b", true},
		{"drill", "cognito-idp:ListUserPools", "*", true},
		{"drill", "cognito-idp:DeleteUserPool", "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/*", true},
		{"drill", "cognito-idp:DescribeUserPool", "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/*", true},
		{"drill", "s3:GetObject", "arn:aws:s3:::b/p/*", true},
		{"drill", "s3:PutObject", "arn:aws:s3:::b/p/*", false},
		{"drill", "s3:DeleteObject", "arn:aws:s3:::b/p/*", false},
	} {
		if got := grants(c.mode, c.action, c.resource); got != c.want {
			t.Errorf("mode %s grants %s on %s: %v, want %v", c.mode, c.action, c.resource, got, c.want)
		}
	}
}

// The worker reads its age identity from one secret: GetSecretValue on it,
// and kms:Decrypt on the secret's own key only through Secrets Manager and
// for that secret. No other mode gets either, and nothing without the ARN.
func TestWorkerAgeIdentityGrant(t *testing.T) {
	const secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cogvault/age-AbC123"
	const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	o := Options{Region: "eu-west-1", Account: "123456789012", Bucket: "b", Prefix: "p", AgeIdentitySecret: secret, AgeIdentitySecretKey: key}
	for _, m := range Modes {
		d := Build(m, o)
		var read, decrypt *Statement
		for i, st := range d.Statement {
			switch {
			case slices.Contains(st.Action, "secretsmanager:GetSecretValue"):
				read = &d.Statement[i]
			case slices.Contains(st.Action, "kms:Decrypt") && slices.Contains(st.Resource, key):
				decrypt = &d.Statement[i]
			}
		}
		if m.Name != "lambda-worker" {
			if read != nil || decrypt != nil {
				t.Errorf("mode %s may read the worker's age identity", m.Name)
			}
			continue
		}
		if read == nil || !slices.Equal(read.Resource, []string{secret}) || len(read.Action) != 1 {
			t.Fatalf("lambda-worker: GetSecretValue %+v, want on %s only", read, secret)
		}
		want := map[string][]string{"kms:ViaService": {"secretsmanager.eu-west-1.amazonaws.com"}, "kms:EncryptionContext:SecretARN": {secret}}
		if decrypt == nil || len(decrypt.Action) != 1 || !maps.EqualFunc(decrypt.Condition["StringEquals"], want, slices.Equal) {
			t.Fatalf("lambda-worker: kms:Decrypt %+v, want on the key through Secrets Manager for the secret", decrypt)
		}
		none := o
		none.AgeIdentitySecret, none.AgeIdentitySecretKey = "", ""
		b, _ := json.Marshal(Build(m, none))
		if strings.Contains(string(b), "secretsmanager") {
			t.Fatalf("lambda-worker without the secret: %s", b)
		}
	}
}
