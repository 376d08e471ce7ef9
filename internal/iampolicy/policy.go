package iampolicy

import (
	"strings"
)

// Options scope a policy. Empty fields are granted on "*" in their part of
// the ARN (Notes says so).
type Options struct {
	Partition     string // "aws" when empty
	Region        string // the pool's Region
	Account       string // the pool's account
	PoolID        string // the pool the mode reads or restores into
	NewPoolRegion string // where create-pool and migrate create the pool (default Region)
	// TargetPoolID is the existing target of migrate (--to): the target
	// actions are granted on it alone (Mode.Target).
	TargetPoolID  string
	Bucket        string // S3 repository bucket; "" when the repository is not in S3
	Prefix        string // S3 repository prefix, no leading or trailing slash
	AnyBucket     bool   // no repository given: S3 actions on every bucket
	KMSKey        string // SSE-KMS key ARN of the repository
	SigningKey    string // KMS key ARN the repository is signed with
	ImportRoleARN string // the import job's CloudWatch Logs role
	// StateInRepo: a restore keeps its state and sub mapping under
	// checkpoints/ in the repository (restore --state-in-repo), signed.
	StateInRepo bool
	// The migration function's source pool (lambda-migration): its id
	// (Region from it), its account (default Account), and the role in its
	// account the function assumes when that account is another.
	SourcePoolID, SourceAccount, SourceRoleARN string
	// AgeIdentitySecret is the ARN of the Secrets Manager secret holding the
	// worker's age identity, AgeIdentitySecretKey the customer managed KMS
	// key that secret is encrypted with, if any (secret.go).
	AgeIdentitySecret, AgeIdentitySecretKey string
}

// Document is an IAM policy document.
type Document struct {
	Version   string
	Statement []Statement
}

// Statement is one statement of a Document.
type Statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]map[string][]string `json:",omitempty"`
}

// Build returns the policy that grants m everything it calls, scoped by o.
func Build(m Mode, o Options) Document {
	if o.Partition == "" {
		o.Partition = "aws"
	}
	d := Document{Version: "2012-10-17"}
	add := func(sid string, actions []string, resources ...string) *Statement {
		if len(actions) == 0 {
			return nil
		}
		d.Statement = append(d.Statement, Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources})
		return &d.Statement[len(d.Statement)-1]
	}
	onPool, onAny := split(m.Cognito)
	add("UserPool", onPool, poolARN(o, o.Region, star(o.PoolID)))
	newRegion := o.NewPoolRegion
	if newRegion == "" {
		newRegion = o.Region
	}
	tsid, tactions, tarn := targetScope(m, o, newRegion)
	newOnPool, newOnAny := split(tactions)
	add(tsid, newOnPool, tarn)
	add("CognitoAnyResource", sorted(onAny, newOnAny), "*")
	addSource(&d, m, o)
	addRepo(&d, m, o)
	// Readers too get GenerateDataKey: the S3 user guide says uploading or
	// downloading an SSE-KMS object needs both (docs/cognito-facts.md 17.3),
	// and GenerateDataKey decrypts nothing already written.
	if o.KMSKey != "" && m.Repo != RepoNone {
		add("RepositoryKey", []string{"kms:Decrypt", "kms:GenerateDataKey"}, o.KMSKey)
	}
	if o.SigningKey != "" && (m.Writer || o.StateInRepo) {
		add("SignRepository", []string{"kms:Sign"}, o.SigningKey)
	}
	addAgeIdentity(&d, m, o)
	if m.ImportRole && o.ImportRoleARN != "" {
		st := add("PassImportRole", []string{"iam:PassRole"}, o.ImportRoleARN)
		st.Condition = map[string]map[string][]string{"StringEquals": {"iam:PassedToService": {"cognito-idp.amazonaws.com"}}}
		region, pool := o.Region, o.PoolID
		if m.TargetImport { // the job runs in the target
			region, pool = targetRegion(o, newRegion), o.TargetPoolID
		}
		add("ReadImportJobLogs", []string{"logs:GetLogEvents"},
			"arn:"+o.Partition+":logs:"+star(region)+":"+star(o.Account)+":log-group:/aws/cognito/userpools/"+star(pool)+"/*")
	}
	return d
}

// targetScope is the statement for the pool a mode writes besides --pool:
// an existing target named in o (its ARN alone) or the pool it creates
// (userpool/* in newRegion), with the import actions when m may import
// there and a role is given.
func targetScope(m Mode, o Options, newRegion string) (sid string, actions []string, arn string) {
	sid, actions, arn = "NewUserPool", sorted(m.NewPool, m.Dependent), poolARN(o, newRegion, "*")
	if o.TargetPoolID != "" && len(m.Target) > 0 {
		sid, actions, arn = "TargetUserPool", m.Target, poolARN(o, targetRegion(o, newRegion), o.TargetPoolID)
	}
	if m.TargetImport && o.ImportRoleARN != "" {
		actions = sorted(actions, importActions)
	}
	return sid, actions, arn
}

// targetRegion is the Region of o's target: from its id, else newRegion.
func targetRegion(o Options, newRegion string) string {
	if r, _, ok := strings.Cut(o.TargetPoolID, "_"); ok {
		return r
	}
	return newRegion
}

// addRepo grants the S3 actions on the repository's prefix.
func addRepo(d *Document, m Mode, o Options) {
	if m.Repo == RepoNone || (o.Bucket == "" && !o.AnyBucket) {
		return
	}
	bucket, objects := "arn:"+o.Partition+":s3:::"+o.Bucket, "arn:"+o.Partition+":s3:::"+o.Bucket+"/"+o.Prefix+"/*"
	if o.Prefix == "" {
		objects = bucket + "/*"
	}
	if o.AnyBucket {
		bucket, objects = "arn:"+o.Partition+":s3:::*", "arn:"+o.Partition+":s3:::*/*"
	}
	st := func(sid string, actions []string, res string) Statement {
		return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: []string{res}}
	}
	switch m.Repo {
	case RepoRead:
		d.Statement = append(d.Statement, st("RepositoryObjects", []string{"s3:GetObject"}, objects))
		if o.StateInRepo {
			// State segments are added; the sub mapping is replaced at the
			// end of each run (delete, then a create-once put:
			// restore.RepoState.SaveMappings).
			d.Statement = append(d.Statement, st("RestoreCheckpoints", []string{"s3:DeleteObject", "s3:PutObject"}, strings.TrimSuffix(objects, "*")+"checkpoints/*"))
		}
	case RepoWrite:
		// DeleteObject removes an interrupted backup's objects (and serves
		// forget/prune); AbortMultipartUpload ends a failed multipart upload.
		d.Statement = append(d.Statement, st("RepositoryObjects", []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"}, objects))
	case RepoJournal:
		cfg, journal := strings.TrimSuffix(objects, "*")+"config.json", strings.TrimSuffix(objects, "*")+"journal/"+star(o.PoolID)+"/*"
		d.Statement = append(d.Statement, st("ReadConfig", []string{"s3:GetObject"}, cfg), st("AppendJournal", []string{"s3:GetObject", "s3:PutObject"}, journal))
	case RepoMigration:
		d.Statement = append(d.Statement, migrationRepo(objects, o)...)
	}
	// Without s3:ListBucket S3 answers 403, not 404, for a missing key.
	list := st("RepositoryList", []string{"s3:ListBucket"}, bucket)
	if prefix := listPrefix(m, o); prefix != "" {
		list.Condition = map[string]map[string][]string{"StringLike": {"s3:prefix": {prefix}}}
	}
	d.Statement = append(d.Statement, list)
}

// listPrefix is what the mode may list: the repository's prefix, or for
// the migration function only its records, migrations/<pool>/ (facts
// §35.4); "" is the whole bucket.
func listPrefix(m Mode, o Options) string {
	if o.AnyBucket {
		return ""
	}
	base := ""
	if o.Prefix != "" {
		base = o.Prefix + "/"
	}
	if m.Repo == RepoMigration {
		return base + "migrations/" + star(o.PoolID) + "/*"
	}
	if base == "" {
		return ""
	}
	return base + "*"
}

// split divides Cognito actions into those granted on a pool's ARN and those
// with no resource type (granted on "*"). An action missing from
// ResourceTypes goes to "*": a pool ARN would make IAM refuse it if it has
// none, while "*" works either way (a test keeps the table complete).
func split(actions []string) (onPool, onAny []string) {
	for _, a := range actions {
		if ResourceTypes[a] == "userpool" {
			onPool = append(onPool, a)
		} else {
			onAny = append(onAny, a)
		}
	}
	return onPool, onAny
}

func poolARN(o Options, region, pool string) string {
	return "arn:" + o.Partition + ":cognito-idp:" + star(region) + ":" + star(o.Account) + ":userpool/" + pool
}

func star(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// PartitionOf is the ARN partition of a Region.
func PartitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
