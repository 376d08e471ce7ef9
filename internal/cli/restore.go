package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/pitr"
	"github.com/cogvault/cogvault/internal/poolcfg"
	"github.com/cogvault/cogvault/internal/progress"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

type restoreOptions struct {
	To           string
	DryRun       bool
	OnExisting   string
	Only         []string
	UsersFile    string
	SubAttribute string
	StateFile    string
	MappingFile  string
	Via          string
	RoleArn      string
	At           string
	Pool         string
	CreatePool   string
	MapFile      string
	IDMapFile    string
	StateDir     string
	DropAttrs    []string
	// AllowTriggers lets a restore write users into a pool with Lambda
	// triggers (restore.Options.AllowTriggers).
	AllowTriggers bool
	// StateInRepo keeps the state and the sub mapping in the repository
	// (restore.RepoState), shared with the Lambda's restore.
	StateInRepo bool
}

func (o *restoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.To, "to", "", "target user pool id (it must exist; its schema must hold the custom attributes)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan and change nothing")
	fs.StringVar(&o.OnExisting, "on-existing", restore.OnExistingSkip, "users that already exist in the target: skip, update or fail")
	fs.StringSliceVar(&o.Only, "only", nil, "restore only some of: groups, users, memberships (comma-separated); memberships go to the users this restore (its state file) created or updated, so --only memberships follows an --only users run of the same restore")
	fs.StringVar(&o.UsersFile, "users-file", "", "restore only the users listed in this file, one per line: snapshot usernames, or the email or phone number they sign in with")
	fs.StringVar(&o.SubAttribute, "sub-attribute", "", "store each user's old sub in this custom attribute, e.g. custom:legacy_sub")
	fs.StringVar(&o.StateFile, "state-file", "", "progress file that makes the restore resumable (default: cogvault-restore-<target>-<snapshot>.state in --state-dir)")
	fs.StringVar(&o.Via, "via", restore.ViaAdmin, "admin: the admin API for every user; import: user import jobs for the users the import file can carry exactly, the admin API for the rest")
	fs.StringVar(&o.RoleArn, "import-role-arn", "", "with --via import: the IAM role Cognito assumes to write the import job's CloudWatch log")
	fs.StringVar(&o.CreatePool, "create-pool", "", "create a new pool with this `name` from the snapshot's configuration (in --region) and restore into it, instead of --to")
	fs.StringVar(&o.MapFile, "map", "", "with --create-pool: JSON `file` rewriting what cannot be carried: {\"replace\": {old ARN: new}, \"domain\": prefix|\"-\", \"providerSecrets\": {provider: {\"client_secret\": …}}}")
	fs.StringVar(&o.IDMapFile, "id-map-file", "", "with --create-pool: where to write old → new pool and app client ids (default: cogvault-create-<new pool>.ids.json in --state-dir)")
	fs.StringVar(&o.At, "at", "", "restore the state at this time (RFC 3339, e.g. 2026-11-24T10:00:00Z): the newest snapshot finished by then plus the journal events up to then")
	fs.StringVar(&o.Pool, "pool", "", poolFlagHelp+"; with --at, the pool whose state to restore")
	fs.StringArrayVar(&o.DropAttrs, "drop-attribute", nil, "restore without this `attribute` that the target's schema lacks (repeatable); without it such a restore is refused before any write")
	fs.BoolVar(&o.AllowTriggers, "allow-triggers", false, "restore users into a target whose PreSignUp, CustomMessage, PostConfirmation, PreTokenGeneration or UserMigration Lambda trigger is set (see the plan's trigger lines); without it such a restore is refused before any write")
	fs.StringVar(&o.MappingFile, "mapping-file", "", "where to write the old-sub → new-sub mapping, as .csv and .json (default: cogvault-restore-<target>-<snapshot>.subs in --state-dir)")
	fs.StringVar(&o.StateDir, "state-dir", "", stateDirHelp)
	fs.BoolVar(&o.StateInRepo, "state-in-repo", false, "keep the state and the sub mapping in the repository (checkpoints/restore/<target>/<snapshot>/), as the Lambda's restore does: a restore begun on AWS finishes here, and the reverse; a signed repository needs --signing-key")
}

func newRestoreCommand(g *globalOptions) *cobra.Command {
	var opts restoreOptions
	cmd := &cobra.Command{
		Use:   "restore --repo URL [SNAPSHOT|latest] (--to POOL_ID | --create-pool NAME)",
		Short: "Restore a snapshot into a user pool",
		Long: `Restore a snapshot into an existing user pool through the Cognito admin API:
groups first, then users, then group memberships and federated links.

Users are created with MessageAction=SUPPRESS: no email or SMS is ever sent.
Passwords cannot be read from Cognito, so each user gets a random password
that is never stored or shown and is made permanent: the user is CONFIRMED
and signs in again through "forgot password" (with a verified email or phone
number). Users who were FORCE_CHANGE_PASSWORD stay so and need a new
invitation. Disabled users are disabled again, before they get a password,
so there is no moment in which they can sign in. SMS and email MFA
preferences are restored when the backup read them (backup --mfa).

Into a pool whose users sign in with email or phone number (the console's
default), each user is created with that value as its username, so they
sign in as before; Cognito gives them an opaque username, and users are
matched by that value, not by the old username. A snapshot of such a pool
restores into a pool with usernames only when it takes the email or phone
number as an alias. Users without the value are listed, not created.

Group memberships are added only to users this restore created or updated:
a user it skipped (--on-existing skip) or could not restore keeps exactly
the groups it had.

Nothing is written when the plan finds data that would be lost: attributes
the target's schema lacks (an immutable custom attribute can never be added
to a user later; --drop-attribute NAME restores without it, and the report
lists it), or with --on-existing fail, any user that already exists.

Cognito gives every restored user a new sub. The old → new sub and username
mapping is written to the state directory (CSV and JSON, mode 0600); with
--sub-attribute the old sub is also stored in that custom attribute (the
oldest one, when the snapshot already carried one there).

Lambda triggers: the plan lists every trigger the target pool has and what
the restore does with it, for the admin API path and for import jobs.
AdminCreateUser runs the PreSignUp trigger for every user it creates; a user
the function rejects is listed with the function's message and the rest are
restored. No message is sent, so CustomMessage does not run; PostConfirmation,
PreTokenGeneration and UserMigration do not run during the restore but act on
restored users later (password resets, sign-ins). With any of PreSignUp,
CustomMessage, PostConfirmation, PreTokenGeneration or UserMigration set, a
restore that writes users needs --allow-triggers, and without it is refused
before any write (with --create-pool, before the pool is created, when the
snapshot's configuration carries such a trigger).

What cannot be restored is listed with the reason: federated-only users (they
come back on their next sign-in), authenticator-app (TOTP) secrets, links to
identity providers the target lacks, attributes the target schema lacks.

With --via import, users go through Cognito user import jobs (CSV files of at
most 500,000 users and 100 MB, one job at a time, uploaded to the job's
presigned URL with SSE-KMS). The import file is not RFC 4180 CSV: values are
unquoted, commas are written \, and surrounding whitespace is trimmed, so any
user the file cannot carry exactly (line breaks, surrounding whitespace, a
backslash, a row over 16,000 characters, an attribute with no column such as
a developer-only dev:custom: one) or whose line would break the file's rules
for the target pool (no verified value of its auto-verified attributes, SMS
MFA that disagrees with its MFA mode, a birthdate) goes through the admin API
instead, with the reason in the report, as do disabled users (a job leaves its users enabled while it runs) and users
whose import line failed or whose job ended Failed, Stopped or Expired.
Imported users are RESET_REQUIRED: they choose a new password at their next
sign-in.

With --at TIME, the state restored is the pool's at that moment: the newest
snapshot that finished by TIME, rolled forward with the change journal the
capture Lambda writes (see 'cogvault journal'). It is computed into a private
temporary directory first (mode 0700, removed afterwards), then restored like
any snapshot.

With --create-pool NAME, the target is created first, in --region (and the
account of --profile), from the snapshot's configuration: pool settings and
schema, MFA, resource servers, identity providers, app clients and the domain.
New pool and client ids (and client secrets) are generated by Cognito: the old
→ new mapping is written to --id-map-file (mode 0600) for applications. What
cannot be carried is rewritten by --map or reported: ARNs in another Region or
account (Lambda triggers, SES identities), identity provider secrets (never in
a snapshot), a domain prefix taken in the Region. A --map file looks like:
  {"replace": {"arn:aws:lambda:us-east-1:111:function:pre": "arn:aws:lambda:eu-west-1:222:function:pre"},
   "domain": "acme-auth-eu",
   "providerSecrets": {"Google": {"client_secret": "…"}}}
Creating needs, besides the restore's actions on the new pool (see
'cogvault iam-policy create-pool'):
` + iamHelpAdded("restore", "create-pool", `on the pool it creates or "*":`) + `
A restore is resumable: a state file (mode 0600) records each user it set out
to create and each it finished; run the same command again after an
interruption and it finishes the job with no user lost or duplicated. The
file belongs to one snapshot and one target: it is refused for another.
With --state-in-repo the state (and, at the end, the sub mapping) is kept in
the repository under checkpoints/restore/<target>/<snapshot>/, signed and
encrypted like the journal, where the Lambda's restore keeps it: a restore
begun on AWS finishes here, and the reverse. It is stored every 30 s while
the run goes on. One run of a restore writes at a time: the run refuses to
start while a Lambda step of it holds its lease, and says until when. Run
again after it finished, the restore starts a new generation that re-creates
the users deleted since; the finished run's sub mapping is kept under
gen-NNNNNN/ in the same place.

The state file, the sub mapping and the id map pair usernames with
identifiers: they go to a private state directory, never the current one:
--state-dir, else $XDG_STATE_HOME/cogvault, else ~/.local/state/cogvault
(created mode 0700). Their default names come from the target and the
snapshot, so running the same command again finds the state file there;
--state-file, --mapping-file and --id-map-file put one elsewhere. Each is
written mode 0600, also when it existed, and never through a symbolic link.
The report says where they are.

The report prints one line per kind of item with a count and a few
usernames; --output json lists every item.

IAM: what 'cogvault iam-policy restore' prints, scoped to the target pool
and repository (logs:GetLogEvents is optional: it names the reason of each
failed import line):
` + iamHelp("restore") + iamHelpAdded("restore", "restore-import", "with --via import:") + `
EXIT STATUS
  0  everything was restored
  1  the restore failed (run it again to resume)
  2  bad flags, no such snapshot, "latest" in a repository of several pools
     without --pool, or the restore was refused before any write (attributes
     the target lacks, --on-existing fail with existing users, a state file
     of another restore, a side file that is a symbolic link, a target its
     users could not sign in to, Lambda triggers on the target without
     --allow-triggers)
  3  completed, with items that could not be restored (listed in the report)`,
		Example: `  cogvault restore --repo s3://my-backups/cognito latest --to eu-west-1_NewPool1 --dry-run
  cogvault restore --repo ./backups 20261124T2206 --to us-east-1_AbC123def --on-existing update
  cogvault restore --repo s3://my-backups/cognito --at 2026-11-24T10:00:00Z --to us-east-1_AbC123def
  cogvault restore --repo s3://my-backups/cognito latest --create-pool acme-prod --region eu-west-1 --map map.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestore(cmd.Context(), opts, g, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runRestore(ctx context.Context, opts restoreOptions, g *globalOptions, args []string) error {
	ro, poolMap, err := opts.restoreOptions(args)
	if err != nil {
		return err
	}
	if err := opts.prepareSideFiles(g.getenv); err != nil {
		return err
	}
	r, m, cleanup, err := restoreSource(ctx, g, opts, args)
	if err != nil {
		return err
	}
	defer cleanup()
	if note := incompleteNote(m); note != "" {
		fmt.Fprintf(g.stderr, "cogvault: warning: snapshot %s is %s; restoring what it holds\n", termEscape(m.ID), termEscape(note))
	}
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return err
	}
	api := cip.NewFromConfig(cfg)
	if err := checkPool(ctx, api, opts.To, cfg.Region); err != nil {
		return err // a wrong target: running again would not help
	}
	var created *poolcfg.Result
	if opts.CreatePool != "" {
		if err := checkCreatedPoolTriggers(ctx, r, m, ro, opts.CreatePool); err != nil {
			return err
		}
		if created, err = createPool(ctx, g, api, r, m, opts, poolMap, cfg.Region); err != nil {
			return err
		}
		if opts.DryRun {
			// The new pool does not exist: there is no user plan to make.
			if n := len(created.NotCarried); n > 0 {
				return withCode(ExitIncomplete, fmt.Errorf("%d item(s) would not be carried (%s)", n, g.listed()))
			}
			return nil
		}
		opts.To, ro.Target = created.NewPool, created.NewPool
	}
	var mapping string
	if ro.StatePath, mapping, err = opts.sidePaths(m.ID); err != nil {
		return err
	}
	// Import jobs log each failed line's reason to CloudWatch Logs; reading it
	// needs logs:GetLogEvents, and without it failures are still found.
	logsCfg, err := g.otherConfig(ctx) // its own endpoint, not --endpoint-url
	if err != nil {
		return err
	}
	ro.Import.Logs = cloudwatchlogs.NewFromConfig(logsCfg)
	var rs *repoStateRun
	runCtx := ctx
	if opts.StateInRepo && !opts.DryRun {
		if rs, runCtx, err = startRepoState(ctx, g, opts.To, m.ID); err != nil {
			return err
		}
		ro.StatePath = rs.rs.Path()
	}
	stats := &restore.Stats{}
	stop := g.progress(ctx,
		progress.Task{Name: "users", Done: stats.Users.Load, Total: stats.UsersTotal.Load},
		progress.Task{Name: "memberships", Done: stats.Memberships.Load},
	)
	rep, err := restore.Run(runCtx, api, r, m, ro, stats)
	stop()
	if cause := context.Cause(runCtx); err != nil && errors.Is(cause, restore.ErrLeaseLost) {
		err = fmt.Errorf("%w (%w)", err, cause)
	}
	statePath := ro.StatePath
	if rs != nil {
		statePath = rs.where(opts.To, m.ID)
		if serr := rs.finish(ctx, rep, err); serr != nil {
			return errors.Join(err, serr)
		}
	}
	if err != nil {
		return restoreFailed(err, statePath)
	}
	return reportRestore(g, opts, rep, created, statePath, mapping)
}

// checkCreatedPoolTriggers refuses --create-pool without --allow-triggers
// when the pool would be created with triggers the restore then refuses.
func checkCreatedPoolTriggers(ctx context.Context, r *repo.Repo, m *snapshot.Manifest, ro restore.Options, name string) error {
	cfg, err := r.Pool(ctx, m)
	if err != nil {
		return err
	}
	if err := restore.CheckCreatedPoolTriggers(cfg, ro, "to be created, "+name+","); err != nil {
		return withCode(ExitUsage, fmt.Errorf("%w (from the snapshot's pool configuration, which --create-pool carries into the new pool when in its Region or rewritten by --map)", err))
	}
	return nil
}

// restoreOptions checks the flags and turns them into the restore's options.
func (o *restoreOptions) restoreOptions(args []string) (restore.Options, poolcfg.Map, error) {
	var ro restore.Options
	var pm poolcfg.Map
	switch {
	case o.To == "" && o.CreatePool == "":
		return ro, pm, usageError("--to is required: the id of the pool to restore into (or --create-pool NAME to create one)")
	case o.To != "" && o.CreatePool != "":
		return ro, pm, usageError("give --to or --create-pool, not both")
	case o.CreatePool == "" && (o.MapFile != "" || o.IDMapFile != ""):
		return ro, pm, usageError("--map and --id-map-file go with --create-pool")
	case o.StateInRepo && o.StateFile != "":
		return ro, pm, usageError("give --state-file or --state-in-repo, not both")
	case o.At != "" && len(args) == 1:
		return ro, pm, usageError("give a snapshot or --at, not both: --at picks the snapshot itself")
	case o.Via != restore.ViaAdmin && o.Via != restore.ViaImport:
		return ro, pm, usageError("--via %q: accepted values are admin and import", o.Via)
	case o.Via == restore.ViaImport && o.RoleArn == "" && !o.DryRun:
		return ro, pm, usageError("--via import needs --import-role-arn: the role Cognito assumes to write the job's CloudWatch log")
	case o.OnExisting != restore.OnExistingSkip && o.OnExisting != restore.OnExistingUpdate && o.OnExisting != restore.OnExistingFail:
		return ro, pm, usageError("--on-existing %q: accepted values are skip, update and fail", o.OnExisting)
	}
	if o.MapFile != "" {
		var err error
		if pm, err = readPoolMap(o.MapFile); err != nil {
			return ro, pm, usageError("--map: %v", err)
		}
	}
	ro = restore.Options{Target: o.To, OnExisting: o.OnExisting, DryRun: o.DryRun, SubAttribute: o.SubAttribute,
		Via: o.Via, Import: restore.ImportOptions{RoleArn: o.RoleArn}, AllowTriggers: o.AllowTriggers}
	for _, part := range o.Only {
		if part != "groups" && part != "users" && part != "memberships" {
			return ro, pm, usageError("--only %q: accepted values are groups, users and memberships", part)
		}
		ro.Only = setOf(ro.Only, part)
	}
	for _, a := range o.DropAttrs {
		ro.DropAttributes = setOf(ro.DropAttributes, a)
	}
	if o.UsersFile != "" {
		users, err := readUsersFile(o.UsersFile)
		if err != nil {
			return ro, pm, usageError("--users-file: %v", err)
		}
		ro.Users = users
	}
	return ro, pm, nil
}

func setOf(m map[string]bool, k string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[k] = true
	return m
}

// restoreSource finds the snapshot to restore: the argument (default
// latest, of --pool), or the state at --at computed into a scratch
// repository that cleanup removes.
func restoreSource(ctx context.Context, g *globalOptions, opts restoreOptions, args []string) (*repo.Repo, *snapshot.Manifest, func(), error) {
	r, err := g.openRepo(ctx, "")
	if err != nil {
		return nil, nil, nil, err
	}
	if opts.At != "" {
		return pointInTime(ctx, g, r, opts)
	}
	ref := "latest"
	if len(args) == 1 {
		ref = args[0]
	}
	m, err := resolveSnapshot(ctx, r, ref, opts.Pool)
	if err != nil {
		return nil, nil, nil, withCode(ExitUsage, err) // no such snapshot, or no readable one
	}
	return r, m, func() {}, nil
}

// restoreFailed gives a failed restore its exit status and advice.
func restoreFailed(err error, statePath string) error {
	switch {
	case errors.Is(err, restore.ErrRefused), errors.Is(err, restore.ErrExisting), errors.Is(err, restore.ErrStateMismatch):
		return withCode(ExitUsage, err) // refused before any write: change the flags or the target
	case errors.Is(err, snapshot.ErrDamaged), errors.Is(err, snapshot.ErrFormat):
		return err // the input is bad: running again would not help
	}
	return fmt.Errorf("%w (state kept in %s: run the same command again to resume)", err, statePath)
}

// reportRestore writes the mapping files and prints the report.
func reportRestore(g *globalOptions, opts restoreOptions, rep *restore.Report, created *poolcfg.Result, statePath, mapping string) error {
	if !opts.DryRun && len(rep.Mappings) > 0 {
		if err := writeMappings(mapping, rep.Mappings); err != nil {
			return err
		}
	}
	if g.json() {
		if err := printJSON(g.stdout, map[string]any{"report": rep, "stateDir": opts.StateDir, "stateFile": statePath, "mappingFile": mapping, "createPool": created}); err != nil {
			return err
		}
	} else {
		printRestoreReport(g, rep, statePath, mapping)
	}
	if n := len(rep.NotRestored) + notCarried(created); n > 0 {
		return withCode(ExitIncomplete, fmt.Errorf("%d item(s) could not be restored (%s)", n, g.listed()))
	}
	return nil
}

func notCarried(r *poolcfg.Result) int {
	if r == nil {
		return 0
	}
	return len(r.NotCarried)
}

// createPool creates the target from the snapshot's configuration (or, with
// --dry-run, says what it would create) and writes the id mapping.
func createPool(ctx context.Context, g *globalOptions, api *cip.Client, r *repo.Repo, m *snapshot.Manifest, opts restoreOptions, pm poolcfg.Map, region string) (*poolcfg.Result, error) {
	cfg, err := r.Pool(ctx, m)
	if err != nil {
		return nil, err
	}
	var res *poolcfg.Result
	if opts.DryRun {
		res, err = poolcfg.Plan(ctx, cfg, opts.CreatePool, region, pm)
	} else {
		res, err = poolcfg.Create(ctx, api, cfg, opts.CreatePool, pm)
	}
	if res != nil && res.NewPool != "" && !opts.DryRun {
		path := sidePath(opts.StateDir, opts.IDMapFile, fmt.Sprintf("cogvault-create-%s.ids.json", res.NewPool))
		if werr := writeFile0600(path, res); werr != nil {
			return res, werr
		}
		if !g.json() {
			fmt.Fprintf(g.stdout, "id mapping   %s (old → new pool and app client ids, for applications)\n", path)
		}
	}
	if err != nil {
		if res != nil && res.NewPool != "" {
			return res, fmt.Errorf("%w (pool %s was created and is left as it is: delete it or fix the cause and restore into it with --to %s)", err, res.NewPool, res.NewPool)
		}
		return res, err
	}
	if g.json() {
		if opts.DryRun {
			return res, printJSON(g.stdout, map[string]any{"createPool": res, "dryRun": true, "users": m.Counts.Users})
		}
		return res, nil
	}
	w := g.stdout
	verb := "created"
	if opts.DryRun {
		verb = "would create (dry run, nothing changed)"
	}
	fmt.Fprintf(w, "%s: pool %q (%s) from snapshot %s of %s\n", verb, opts.CreatePool, res.NewPool, m.ID, res.OldPool)
	for _, c := range res.Clients {
		fmt.Fprintf(w, "  app client   %-20s %s → %s", termName(c.Name), c.Old, c.New)
		switch {
		case c.SecretKept:
			fmt.Fprint(w, " (same secret, from the snapshot)")
		case c.SecretGenerated:
			fmt.Fprint(w, " (new secret: read it with DescribeUserPoolClient)")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  resource servers %d, identity providers %d, domain %q\n", len(res.ResourceServers), len(res.Providers), res.Domain)
	for _, it := range res.NotCarried {
		fmt.Fprintf(w, "  ! %s: %s\n", it.What, it.Reason)
	}
	if opts.DryRun {
		fmt.Fprintf(w, "then: %d users, %d groups, %d memberships would be restored into it\n", m.Counts.Users, m.Counts.Groups, m.Counts.Memberships)
	}
	return res, nil
}

func readPoolMap(path string) (poolcfg.Map, error) {
	var pm poolcfg.Map
	b, err := os.ReadFile(path)
	if err != nil {
		return pm, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pm); err != nil {
		return pm, fmt.Errorf("%s: %w (fields: replace, domain, providerSecrets)", path, err)
	}
	return pm, nil
}

// pointInTime computes the state at opts.At into a private scratch
// repository and returns it with its snapshot.
func pointInTime(ctx context.Context, g *globalOptions, r *repo.Repo, opts restoreOptions) (*repo.Repo, *snapshot.Manifest, func(), error) {
	t, err := parseTime("--at", opts.At)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := poolOf(ctx, r, opts.Pool)
	if err != nil {
		return nil, nil, nil, err
	}
	pt, err := pitr.At(ctx, r, pool, t)
	if err != nil {
		return nil, nil, nil, withCode(ExitUsage, err)
	}
	dir, err := os.MkdirTemp("", "cogvault-at-")
	if err != nil {
		return nil, nil, nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	scratch, err := storage.NewDir(dir)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	m, err := pt.Write(ctx, r, scratch, pitr.Options{ToolVersion: Version()})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if !g.json() {
		printPoint(g, pt)
	}
	return repo.New(scratch), m, cleanup, nil
}

func readUsersFile(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if u := strings.TrimSpace(sc.Text()); u != "" && !strings.HasPrefix(u, "#") {
			users[u] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%s lists no usernames", path)
	}
	return users, nil
}

// writeMappings writes base.csv and base.json, 0600: they pair usernames
// with identifiers, which is personal data.
func writeMappings(base string, maps []restore.SubMapping) error {
	csvPath, jsonPath := base+".csv", base+".json"
	f, err := storage.OpenPrivate(csvPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("write sub mapping: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"old_sub", "new_sub", "username", "new_username"})
	for _, m := range maps {
		_ = w.Write(csvSafeRow(m.OldSub, m.NewSub, m.Username, m.NewUsername))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", csvPath, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", csvPath, err)
	}
	return writeFile0600(jsonPath, maps)
}

// maxExamples bounds the usernames a text report names per line; a
// restore of a large pool can have thousands of items of one kind.
const maxExamples = 3

// itemLine is one line of a text report: the items of one kind, attribute
// and reason, counted, with a few examples.
type itemLine struct {
	what, reason string
	n            int
	examples     []string
}

// aggregate folds items into one line per (what, reason), in order of first
// appearance. --output json keeps every item.
func aggregate(items []restore.Item) []*itemLine {
	var lines []*itemLine
	byKey := map[string]*itemLine{}
	for _, it := range items {
		k := it.What + "\x00" + it.Reason
		l := byKey[k]
		if l == nil {
			l = &itemLine{what: it.What, reason: it.Reason}
			byKey[k] = l
			lines = append(lines, l)
		}
		l.n++
		who := termName(it.Username)
		if it.Group != "" {
			who += " in " + termName(it.Group)
		}
		if who != "" && len(l.examples) < maxExamples {
			l.examples = append(l.examples, who)
		}
	}
	return lines
}

func printItems(g *globalOptions, mark string, items []restore.Item) {
	for _, l := range aggregate(items) {
		fmt.Fprintf(g.stdout, "  %s %s: %s", mark, l.what, l.reason)
		if len(l.examples) > 0 {
			more := ""
			if l.n > len(l.examples) {
				more = ", …"
			}
			fmt.Fprintf(g.stdout, " [%d: %s%s]", l.n, strings.Join(l.examples, ", "), more)
		}
		fmt.Fprintln(g.stdout)
	}
}

func printRestoreReport(g *globalOptions, rep *restore.Report, statePath, mapping string) {
	w := g.stdout
	verb := "restored"
	if rep.DryRun {
		verb = "plan (dry run, nothing changed)"
	}
	fmt.Fprintf(w, "%s: snapshot %s → pool %s\n", verb, rep.Snapshot, rep.Target)
	fmt.Fprintf(w, "  groups       %d to create, %d already there\n", rep.GroupsCreate, rep.GroupsExisting)
	if note := groupsNote(rep.GroupsCreate); note != "" {
		fmt.Fprintf(w, "               %s\n", note)
	}
	fmt.Fprintf(w, "  users        %d to create, %d to update, %d skipped, %d resumed\n", rep.UsersCreate, rep.UsersUpdate, rep.UsersSkip, rep.UsersResumed)
	fmt.Fprintf(w, "  memberships  %d", rep.MembershipsAdd)
	if rep.MembershipsSkipped > 0 {
		fmt.Fprintf(w, " (%d of users this restore did not create or update: not added)", rep.MembershipsSkipped)
	}
	fmt.Fprintln(w)
	printTriggers(g, rep.Triggers)
	if !rep.DryRun {
		fmt.Fprintf(w, "  links        %d federated identities linked\n", rep.LinksRestored)
		fmt.Fprintf(w, "  sub mapping  %d users: %s.csv, %s.json\n", rep.SubMappings, mapping, mapping)
		hint := "keep it to resume; delete it to start over"
		if strings.HasPrefix(statePath, "the repository's ") {
			hint = "the same command continues it; after it finished, it starts a new generation"
		}
		fmt.Fprintf(w, "  state        %s (%s)\n", statePath, hint)
	}
	if len(rep.ImportJobs) > 0 {
		fmt.Fprintf(w, "  imported     %d users in %d import job(s)\n", rep.UsersImported, len(rep.ImportJobs))
		for _, j := range rep.ImportJobs {
			if j.Status != "Succeeded" {
				fmt.Fprintf(w, "  ! import job %s ended %s (%s): its users that are not in the target went through the admin API\n", j.ID, j.Status, j.Message)
			}
		}
	}
	if len(rep.Changed) > 0 {
		fmt.Fprintf(w, "restored, not exactly (%d):\n", len(rep.Changed))
		printItems(g, "~", rep.Changed)
	}
	if len(rep.NotRestored) > 0 {
		fmt.Fprintf(w, "not restored (%d):\n", len(rep.NotRestored))
		printItems(g, "-", rep.NotRestored)
	}
	if !rep.DryRun {
		fmt.Fprintln(w, "next: users sign in again through \"forgot password\"; applications that stored subs use the mapping")
	}
}

// printTriggers lists the target's Lambda triggers: what the admin API path
// and import jobs do with each, and what it does to restored users later.
func printTriggers(g *globalOptions, triggers []restore.Trigger) {
	for _, t := range triggers {
		fmt.Fprintf(g.stdout, "  trigger      %s %s\n", t.Name, t.Function)
		fmt.Fprintf(g.stdout, "               admin API: %s; import jobs: %s\n", t.Admin, t.Import)
		if t.Later != "" {
			fmt.Fprintf(g.stdout, "               later: %s\n", t.Later)
		}
	}
}
