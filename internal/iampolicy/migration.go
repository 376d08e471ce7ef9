package iampolicy

import "strings"

// RepoMigration: read config.json; read, add and delete records under
// migrations/<pool>/. Kept apart from the iota list so that a value added
// there cannot take the same number.
const RepoMigration RepoAccess = 100

// The migration function's grants (mode lambda-migration, issue 15's
// contract; docs/cognito-facts.md §28.6): the source actions on the source
// pool, or sts:AssumeRole on the source account's role when the source is
// in another account (that role holds the source actions,
// deploy/terraform/modules/migration-source-role); the target actions on
// the target pool (Options.PoolID); in the repository, config.json read
// and the records under migrations/<target pool>/ read, written and
// deleted (a pending record is deleted once the user's groups are added).

// addSource grants m.Source on the source pool, or the role that holds them.
func addSource(d *Document, m Mode, o Options) {
	if len(m.Source) == 0 {
		return
	}
	if o.SourceRoleARN != "" {
		d.Statement = append(d.Statement, Statement{Sid: "AssumeSourceRole", Effect: "Allow", Action: []string{"sts:AssumeRole"}, Resource: []string{o.SourceRoleARN}})
		return
	}
	region, _, _ := strings.Cut(o.SourcePoolID, "_")
	if o.SourcePoolID == "" {
		region = o.Region
	}
	account := o.SourceAccount
	if account == "" {
		account = o.Account
	}
	src := o
	src.Account = account
	d.Statement = append(d.Statement, Statement{Sid: "SourceUserPool", Effect: "Allow", Action: m.Source,
		Resource: []string{poolARN(src, region, star(o.SourcePoolID))}})
}

// migrationRepo are the repository statements of RepoMigration; objects is
// the repository's "<bucket>/<prefix>/*" ARN.
func migrationRepo(objects string, o Options) []Statement {
	base := strings.TrimSuffix(objects, "*")
	return []Statement{
		{Sid: "ReadConfig", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{base + "config.json"}},
		{Sid: "MigrationRecords", Effect: "Allow", Action: []string{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
			Resource: []string{base + "migrations/" + star(o.PoolID) + "/*"}},
	}
}
