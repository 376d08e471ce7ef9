package iampolicy

import "slices"

// RepoAccess is what a mode does to an S3 repository.
type RepoAccess int

const (
	RepoNone    RepoAccess = iota
	RepoRead               // read snapshots
	RepoWrite              // write snapshots, remove an interrupted one's objects
	RepoJournal            // read config.json, add journal objects of one pool
)

// Mode is one way cogvault runs and everything it calls.
type Mode struct {
	Name    string
	Summary string
	// Cognito actions called on the pool named by --pool (its ARN, or "*"
	// for actions with no resource type).
	Cognito []string
	// NewPool actions are called on a pool the mode creates: its id is not
	// known in advance, so they are granted on userpool/* in its Region.
	NewPool []string
	// Target actions are called on an existing target pool
	// (Options.TargetPoolID, migrate --to): when one is named they are
	// granted on its ARN alone, in place of NewPool on userpool/*.
	Target []string
	// TargetImport: with Options.ImportRoleARN the mode may run import jobs
	// in the target (migrate finish --via import): the import actions on
	// it, iam:PassRole on the role and the job's log group.
	TargetImport bool
	// Dependent actions IAM checks in addition to a called one (the
	// reference's "Dependent actions" column): granted, never called.
	Dependent []string
	Repo      RepoAccess
	// ImportRole: iam:PassRole on the import job's CloudWatch Logs role
	// (CreateUserImportJob's dependent action) and logs:GetLogEvents on the
	// job's log group.
	ImportRole bool
	// Writer: signs what it writes (kms:Sign with --signing-key).
	Writer bool
	// NotYet is set for a mode whose command does not exist yet.
	NotYet string
	// Source actions are called on Options.SourcePoolID (the migration
	// function's source pool), or, with Options.SourceRoleARN, through that
	// role: then only sts:AssumeRole on it is granted (migration.go).
	Source []string
	// AgeIdentity: reads its age identity from Secrets Manager when
	// Options.AgeIdentitySecret names the secret (secret.go).
	AgeIdentity bool
}

// getProvisionedLimit is read by every CLI command to pace at the account's
// quotas; without it cogvault says so once and paces at the defaults.
const getProvisionedLimit = "cognito-idp:GetProvisionedLimit"

var (
	backupActions = sorted(Lambda["snapshot"], []string{"cognito-idp:AdminGetUser", getProvisionedLimit}) // AdminGetUser: --mfa
	importActions = []string{"cognito-idp:CreateUserImportJob", "cognito-idp:DescribeUserImportJob", "cognito-idp:GetCSVHeader", "cognito-idp:ListUserImportJobs", "cognito-idp:StartUserImportJob"}
	adminRestore  = sorted(without(Lambda["restore"], importActions), []string{getProvisionedLimit})
	createActions = []string{"cognito-idp:CreateIdentityProvider", "cognito-idp:CreateResourceServer", "cognito-idp:CreateUserPool",
		"cognito-idp:CreateUserPoolClient", "cognito-idp:CreateUserPoolDomain", "cognito-idp:SetUICustomization", "cognito-idp:SetUserPoolMfaConfig"}
	// CreateUserPool's dependent actions: the snapshot's tags are set at
	// creation (cognito-idp:TagResource). iam:PassRole for an SMS role is
	// not granted: that role is the user's to name (see the note).
	createDependent = []string{"cognito-idp:TagResource"}
	// cogvault migrate (internal/migrate): start creates the function's app
	// client on the source (--pool); on the target (--to, or the pool
	// --create-pool makes) it lists app clients to pair them, sets the
	// triggers (UpdateUserPool) and finish gives groups.
	migrateSource = []string{"cognito-idp:CreateUserPoolClient"}
	migrateTarget = []string{"cognito-idp:DescribeUserPoolClient", "cognito-idp:ListUserPoolClients", "cognito-idp:UpdateUserPool", "cognito-idp:ListUsers"}
	// A drill creates its scratch pool, works only in it, deletes it, and
	// sweeps the scratch pools killed drills left (drill --sweep).
	drillActions = sorted(Lambda["drill_scratch"], Lambda["drill_sweep"], []string{"cognito-idp:CreateUserPool", getProvisionedLimit})
)

// Modes are the modes `cogvault iam-policy` knows, in the order --help lists them.
var Modes = []Mode{
	{Name: "backup", Summary: "cogvault backup (also snapshots, verify, diff, forget, prune, checkpoints remove)", Cognito: backupActions, Repo: RepoWrite, Writer: true},
	{Name: "restore", Summary: "cogvault restore --to POOL (admin API)", Cognito: adminRestore, Repo: RepoRead},
	{Name: "restore-import", Summary: "cogvault restore --to POOL --via import", Cognito: sorted(adminRestore, importActions), Repo: RepoRead, ImportRole: true},
	{Name: "create-pool", Summary: "cogvault restore --create-pool NAME", NewPool: sorted(adminRestore, createActions), Dependent: createDependent, Repo: RepoRead},
	{Name: "migrate", Summary: "cogvault migrate start/status/finish --from POOL, and clone --from POOL", Cognito: sorted(backupActions, migrateSource),
		NewPool: sorted(adminRestore, createActions, migrateTarget), Target: sorted(adminRestore, migrateTarget), Dependent: createDependent,
		Repo: RepoWrite, Writer: true, ImportRole: true, TargetImport: true},
	{Name: "drill", Summary: "cogvault drill and drill --sweep (scratch pools: create, restore, compare, delete)",
		NewPool: drillActions, Dependent: createDependent, Repo: RepoRead},
	{Name: "lambda-capture", Summary: "the capture function (PostConfirmation, change events)", Cognito: Lambda["capture"], Repo: RepoJournal, Writer: true},
	{Name: "lambda-worker", Summary: "the worker function (scheduled snapshots, forget, prune; restores with --enable-restore)",
		Cognito: Lambda["snapshot"], Repo: RepoWrite, Writer: true, AgeIdentity: true},
	{Name: "lambda-migration", Summary: "the migration function (the target pool's UserMigration and PostAuthentication triggers)",
		Cognito: Lambda["migration_target"], Source: Lambda["migration_source"], Repo: RepoMigration, Writer: true},
}

// Lookup returns the named mode.
func Lookup(name string) (Mode, bool) {
	i := slices.IndexFunc(Modes, func(m Mode) bool { return m.Name == name })
	if i < 0 {
		return Mode{}, false
	}
	return Modes[i], true
}

// Names lists the modes.
func Names() []string {
	var out []string
	for _, m := range Modes {
		out = append(out, m.Name)
	}
	return out
}

// WithRestore is the worker with restores enabled (the Terraform module's
// enable_restore): it may also restore, through the admin API or import
// jobs.
func (m Mode) WithRestore() Mode {
	m.Cognito = sorted(m.Cognito, Lambda["restore"])
	m.ImportRole = true
	return m
}

func sorted(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func without(list, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(a string) bool { return slices.Contains(drop, a) })
}
