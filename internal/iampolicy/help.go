package iampolicy

import "strings"

// where says, for --help, what each statement of Build is granted on.
var where = map[string]string{
	"UserPool":           "on the pool",
	"NewUserPool":        "on the pool it creates (userpool/*)",
	"TargetUserPool":     "on the existing target pool",
	"CognitoAnyResource": `on "*" (no resource type)`,
	"RepositoryObjects":  "on the S3 repository's objects",
	"ReadConfig":         "on the repository's config.json",
	"AppendJournal":      "on the pool's journal prefix",
	"RepositoryList":     "on the bucket, for the repository's prefix",
	"RepositoryKey":      "with SSE-KMS, on the key",
	"SignRepository":     "with a KMS signing key, on the key",
	"PassImportRole":     "on the import role",
	"ReadImportJobLogs":  "on the import job's log group",
	"SourceUserPool":     "on the source pool (without a source role)",
	"AssumeSourceRole":   "with a source role, on the role",
	"MigrationRecords":   "on the repository's migrations/<pool>/ prefix",
	"ReadAgeIdentity":    "with --age-identity-secret, on the secret",
	"DecryptAgeIdentity": "with --age-identity-secret-key, on the key, through Secrets Manager",
}

// Help lists, for a command's --help, every action m needs and on what,
// wrapped to width columns and indented by two spaces: the same
// statements Build prints, with every option that adds one turned on.
func Help(m Mode, width int) string {
	d := Build(m, Options{Bucket: "b", Prefix: "p", KMSKey: "k", SigningKey: "s", ImportRoleARN: "r", AgeIdentitySecret: "a", AgeIdentitySecretKey: "ak"})
	var b strings.Builder
	for _, st := range d.Statement {
		b.WriteString(wrap(append([]string{where[st.Sid] + ":"}, st.Action...), width))
	}
	return b.String()
}

// Added lists, wrapped like Help after label, the actions m needs beyond
// base.
func Added(base, m Mode, label string, width int) string {
	full := Options{Bucket: "b", Prefix: "p", KMSKey: "k", SigningKey: "s", ImportRoleARN: "r", AgeIdentitySecret: "a", AgeIdentitySecretKey: "ak"}
	have := map[string]bool{}
	for _, st := range Build(base, full).Statement {
		for _, a := range st.Action {
			have[a] = true
		}
	}
	var extra []string
	for _, st := range Build(m, full).Statement {
		for _, a := range st.Action {
			if !have[a] {
				extra = append(extra, a)
			}
		}
	}
	return wrap(append([]string{label}, sorted(extra)...), width)
}

// wrap joins words with ", " after the first, in lines of at most width
// columns, the first indented by two spaces and the rest by four.
func wrap(words []string, width int) string {
	words = append([]string(nil), words...)
	for i := 1; i < len(words)-1; i++ {
		words[i] += ","
	}
	var b strings.Builder
	line := " "
	for _, w := range words {
		if len(line)+1+len(w) > width && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
			line = "   "
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
	return b.String()
}
