package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/migrate"
	"github.com/cogvault/cogvault/internal/poolcfg"
	"github.com/cogvault/cogvault/internal/progress"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

func newMigrateCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move users to another pool while they keep their passwords",
		Long: `Migrate a user pool's users into another pool (new settings, another Region
or account) without password resets for those who sign in while it runs.

  1. 'cogvault migrate start' prepares the target and points its UserMigration
     and PostAuthentication triggers at the migration function (the
     cogvault-lambda binary with the environment start prints).
  2. Users sign in to the target as before. A user the target does not know
     is checked against the source pool by the function; with the right
     password Cognito creates them in the target with that password.
  3. 'cogvault migrate status' counts who has moved and projects the end.
  4. 'cogvault migrate finish' brings everyone else through the restore
     machinery (they reset their password: "forgot password"), gives every
     migrated user their groups, removes the triggers and writes the
     old sub → new sub mapping.

The source pool must stay until finish has run.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newMigrateStartCommand(g), newMigrateStatusCommand(g), newMigrateFinishCommand(g))
	return cmd
}

// pairOptions name the source and target pools and how to reach the
// target (clone's flags).
type pairOptions struct {
	From, To                        string
	ToRegion, ToProfile, ToEndpoint string
}

func (o *pairOptions) AddFlags(fs *pflag.FlagSet, toHelp string) {
	fs.StringVar(&o.From, "from", "", "the source pool, e.g. us-east-1_AbC123 (in --region / --profile)")
	fs.StringVar(&o.To, "to", "", toHelp)
	fs.StringVar(&o.ToRegion, "to-region", "", "Region of the target pool (default: the Region in --to's id, else the source's)")
	fs.StringVar(&o.ToProfile, "to-profile", "", "AWS profile of the target pool's account (default: --profile)")
	fs.StringVar(&o.ToEndpoint, "to-endpoint-url", "", "send the target pool's calls to this `URL` (a second fake-cognito, in tests)")
}

// clients checks --from and returns the source's and the target's Cognito
// clients, each paced by its own account's quotas.
func (o *pairOptions) clients(ctx context.Context, g *globalOptions) (src, dst *cip.Client, srcRegion string, err error) {
	if o.From == "" {
		return nil, nil, "", usageError("--from is required: the source pool (see 'cogvault pools')")
	}
	if err := g.usePoolRegion("--from", o.From); err != nil {
		return nil, nil, "", err
	}
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	d := *g
	d.cfgs, d.poolRegion = nil, ""
	switch {
	case o.ToRegion != "":
		d.Region = o.ToRegion
	case o.To != "":
		if r, ok := awsx.PoolRegion(o.To); ok {
			d.Region = r
		}
	}
	if d.Region == "" {
		d.Region = cfg.Region // --create-pool: the source's Region by default
	}
	if o.ToProfile != "" {
		d.Profile = o.ToProfile
	}
	if o.ToEndpoint != "" {
		d.EndpointURL = o.ToEndpoint
	}
	dcfg, err := d.awsConfig(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	return cip.NewFromConfig(cfg), cip.NewFromConfig(dcfg), cfg.Region, nil
}

// migrateFailed gives a refusal the usage exit code: nothing was written,
// the flags or the pools must change.
func migrateFailed(err error) error {
	if errors.Is(err, migrate.ErrRefused) || errors.Is(err, restore.ErrRefused) {
		return withCode(ExitUsage, err)
	}
	return err
}

type migrateStartOptions struct {
	pairOptions
	CreatePool, Function, SourceClient, SourceRole, MapFile string
	DryRun                                                  bool
}

func newMigrateStartCommand(g *globalOptions) *cobra.Command {
	var opts migrateStartOptions
	cmd := &cobra.Command{
		Use:   "start --from POOL_ID (--to POOL_ID | --create-pool NAME) --function-arn ARN --repo URL [--source-client-id ID] [--dry-run]",
		Short: "Prepare the target pool and point its migration triggers at the function",
		Long: `Start a migration from --from into --to (an existing pool) or into a new
pool --create-pool NAME made from the source's configuration (as 'cogvault
restore --create-pool' makes it: settings, app clients, identity providers,
resource servers, domain; in --to-region / --to-profile).

An existing target is checked first: its users must sign in the way the
source's do (the same username attributes, the source's alias attributes,
the same case sensitivity; none of these can change after a pool is
created), its schema must take the source's attributes (every custom
attribute of the source with the same type, mutable where the source's is,
limits no tighter, no attribute required only in the target; the refusal
names each), and neither its UserMigration nor its PostAuthentication
trigger may hold another function. Start then copies the source's groups, and sets
both triggers to --function-arn in one UpdateUserPool that carries every
other setting unchanged (UpdateUserPool resets what a request leaves out).
The target is tagged cogvault:migration-start with the time. Finish gives
groups only to users it can prove the migration made (the function's
records in --repo; see 'cogvault migrate finish --help').

The function signs users in on the source with an app client that allows
ALLOW_ADMIN_USER_PASSWORD_AUTH and has no secret: --source-client-id, or
else a client named cogvault-migration, created on the source if missing
(the report says so).

--repo is the repository the function records each migration in (old
sub → new sub; status and finish read it); a real start initialises it
when it does not exist yet.

Start prints the function's environment; set it on the function (the
Terraform module's migration mode takes it as it is):
  COGVAULT_POOL_ID (the target), COGVAULT_REPO (--repo), COGVAULT_REPO_KEY
  (the repository's public key, when it is signed),
  COGVAULT_MIGRATION_SOURCE_POOL_ID, COGVAULT_MIGRATION_SOURCE_CLIENT_ID,
  COGVAULT_MIGRATION_SOURCE_REGION; COGVAULT_MIGRATION_LEGACY_SUB_ATTRIBUTE
  when the target has custom:legacy_sub (the old sub is kept there);
  COGVAULT_MIGRATION_SOURCE_ROLE_ARN with --source-role-arn. The function
  also needs a key to sign its records with (COGVAULT_SIGNING_KEY, as the
  capture function).

Cognito runs the UserMigration trigger only for password sign-ins
(USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH), never for SRP, which
Amplify uses by default: start names the target's app clients that do not
allow ALLOW_USER_PASSWORD_AUTH. Apps on them must switch flows, or their
users come over only through finish (and reset their password).
With --output json: {"targetPoolId", "clients": {old id: new id},
"function": {"environment": {…}}}.

Running start again continues: existing groups, the client and the start
time are kept.

EXIT STATUS
  0  started (or, with --dry-run, would start)
  1  failed
  2  bad flags, or refused before any write (the message says what to fix)
  3  started (or, with --dry-run, would start), with configuration items
     not carried into a created pool (listed)`,
		Example: `  cogvault migrate start --from us-east-1_Old --create-pool acme --function-arn arn:aws:lambda:us-east-1:111122223333:function:cogvault-migration
  cogvault migrate start --from us-east-1_Old --to eu-west-1_New --function-arn arn:aws:lambda:eu-west-1:111122223333:function:m --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMigrateStart(cmd.Context(), opts, g)
		},
	}
	fs := cmd.Flags()
	opts.AddFlags(fs, "the existing target pool, e.g. eu-west-1_XyZ789 (or --create-pool)")
	fs.StringVar(&opts.CreatePool, "create-pool", "", "create the target with this `name` from the source's configuration")
	fs.StringVar(&opts.Function, "function-arn", "", "the migration function's `ARN` (cogvault-lambda with the environment start prints)")
	fs.StringVar(&opts.SourceClient, "source-client-id", "", "source app client `id` the function signs in with (must allow ALLOW_ADMIN_USER_PASSWORD_AUTH, no secret; default: cogvault-migration, created if missing)")
	fs.StringVar(&opts.MapFile, "map", "", "with --create-pool: JSON `file` rewriting what cannot be carried (see 'cogvault restore --help')")
	fs.StringVar(&opts.SourceRole, "source-role-arn", "", "a role in the source's account the function assumes (a source in another account); passed into its environment")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "check everything and print what start would do; write nothing")
	return cmd
}

func runMigrateStart(ctx context.Context, opts migrateStartOptions, g *globalOptions) error {
	if (opts.To == "") == (opts.CreatePool == "") {
		return usageError("give exactly one of --to (an existing target pool) and --create-pool NAME")
	}
	if opts.Function == "" {
		return usageError("--function-arn is required: the migration function (cogvault-lambda), e.g. arn:aws:lambda:us-east-1:111122223333:function:cogvault-migration")
	}
	var pm poolcfg.Map
	if opts.MapFile != "" {
		if opts.CreatePool == "" {
			return usageError("--map applies to --create-pool only")
		}
		m, err := readPoolMap(opts.MapFile)
		if err != nil {
			return err
		}
		pm = m
	}
	if g.Repo == "" {
		return usageError("--repo is required: the repository the migration function records each migration in (old sub → new sub; status and finish read it); the function does not start without one")
	}
	src, dst, region, err := opts.clients(ctx, g)
	if err != nil {
		return err
	}
	repoKey, err := startRepoKey(ctx, g, opts.DryRun)
	if err != nil {
		return err
	}
	res, err := migrate.Start(ctx, src, dst, migrate.StartOptions{Source: opts.From, Target: opts.To, CreatePool: opts.CreatePool,
		Function: opts.Function, SourceClient: opts.SourceClient, SourceRegion: region, SourceRole: opts.SourceRole, Repo: g.Repo,
		RepoKey: repoKey, Map: pm, DryRun: opts.DryRun})
	if err != nil {
		return migrateFailed(err)
	}
	if n := len(res.PasswordFlowMissing); n > 0 {
		fmt.Fprintf(g.stderr, "cogvault: %d app client(s) of %s do not allow ALLOW_USER_PASSWORD_AUTH (%s): Cognito runs the UserMigration trigger only for password sign-ins, never SRP (Amplify's default), so users of apps on these clients keep no password until the client allows that flow and the app uses it\n",
			n, res.TargetPoolID, strings.Join(res.PasswordFlowMissing, ", "))
	}
	if g.json() {
		for _, it := range res.NotCarried {
			fmt.Fprintf(g.stderr, "cogvault: not carried into the target: %s: %s\n", termEscape(it.What), termEscape(it.Reason))
		}
		if err := printJSON(g.stdout, res); err != nil {
			return err
		}
	} else {
		printStart(g, opts, res)
	}
	if n := len(res.NotCarried); n > 0 {
		return withCode(ExitIncomplete, startNotCarried(n, res.DryRun, g))
	}
	return nil
}

// startNotCarried is exit 3's message: what this run did, or with --dry-run
// would do (as restore --dry-run says it).
func startNotCarried(n int, dry bool, g *globalOptions) error {
	if dry {
		return fmt.Errorf("would start; %d configuration item(s) not carried into the pool it would create (%s): see 'cogvault restore --help' for --map", n, g.listed())
	}
	return fmt.Errorf("started; %d configuration item(s) not carried into the new pool (%s): see 'cogvault restore --help' for --map", n, g.listed())
}

func printStart(g *globalOptions, opts migrateStartOptions, res *migrate.StartResult) {
	w := g.stdout
	if res.DryRun {
		fmt.Fprintln(w, "dry run: nothing was written; start would:")
	}
	if res.PoolCreated {
		fmt.Fprintf(w, "target       %s (created as %q from %s)\n", res.TargetPoolID, opts.CreatePool, opts.From)
	} else {
		fmt.Fprintf(w, "target       %s (checked: users sign in the same way)\n", res.TargetPoolID)
	}
	for _, old := range slices.Sorted(maps.Keys(res.Clients)) {
		fmt.Fprintf(w, "app client   %s → %s\n", old, res.Clients[old])
	}
	for _, it := range res.NotCarried {
		fmt.Fprintf(w, "not carried  %s: %s\n", termEscape(it.What), termEscape(it.Reason))
	}
	fmt.Fprintf(w, "groups       %d created, %d existed\n", res.GroupsCreated, res.GroupsExisting)
	if res.SourceClientCreated {
		fmt.Fprintf(w, "source client %s created on %s (ALLOW_ADMIN_USER_PASSWORD_AUTH, no secret)\n", migrate.ClientName, opts.From)
	}
	fmt.Fprintf(w, "triggers     UserMigration and PostAuthentication of %s → %s\n", res.TargetPoolID, opts.Function)
	fmt.Fprintln(w, "function environment:")
	for _, k := range slices.Sorted(maps.Keys(res.Function.Environment)) {
		fmt.Fprintf(w, "  %s=%s\n", k, res.Function.Environment[k])
	}
	fmt.Fprintf(w, "next: 'cogvault migrate status --from %s --to %s', then 'cogvault migrate finish'\n", opts.From, res.TargetPoolID)
}

type migrateStatusOptions struct {
	pairOptions
	Window time.Duration
}

func newMigrateStatusCommand(g *globalOptions) *cobra.Command {
	var opts migrateStatusOptions
	cmd := &cobra.Command{
		Use:   "status --from POOL_ID --to POOL_ID [--repo URL] [--window 24h]",
		Short: "Count migrated, not yet migrated and failed users; project the end",
		Long: `Count the users the migration moved: target users created since start that
match a source user by the value they sign in with (the username, or the
email / phone number in pools that sign in with those), the source users not
yet in the target, and target users that matched but were there before the
migration (never counted as migrated). With --repo (the repository the
function writes to) the refused migrations are counted by reason (from
migrations/<target>/failed/); without it that count is unknown.

With --repo the migrated users are also split by origin: "at sign-in", the
users the function recorded (migrations/<target>/users/; they kept their
password), and the rest, which after 'migrate finish' (the target's
UserMigration trigger removed) are "by finish": the users it restored, who
reset their password.

The sign-in rate is the users migrated within --window; the projected end
assumes it holds. Both pools are listed in full, paced like every listing.

EXIT STATUS
  0  counted
  1  failed
  2  bad flags, or the target was never started`,
		Example: `  cogvault migrate status --from us-east-1_Old --to us-east-1_New --repo s3://backups/cognito`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMigrateStatus(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags(), "the target pool start prepared")
	cmd.Flags().DurationVar(&opts.Window, "window", 24*time.Hour, "the `duration` over which the sign-in rate is measured")
	return cmd
}

func runMigrateStatus(ctx context.Context, opts migrateStatusOptions, g *globalOptions) error {
	if opts.To == "" {
		return usageError("--to is required: the target pool start prepared")
	}
	if opts.Window <= 0 {
		return usageError("--window %s: give a positive duration, e.g. 24h", opts.Window)
	}
	src, dst, _, err := opts.clients(ctx, g)
	if err != nil {
		return err
	}
	so := migrate.StatusOptions{Source: opts.From, Target: opts.To, Window: opts.Window}
	if g.Repo != "" {
		if so.Repo, err = g.openStore(ctx, storage.Options{}); err != nil {
			return err
		}
	}
	st, err := migrate.CountStatus(ctx, src, dst, so)
	if err != nil {
		return migrateFailed(err)
	}
	if g.json() {
		return printJSON(g.stdout, st)
	}
	printStatus(g, st)
	return nil
}

func printStatus(g *globalOptions, st *migrate.Status) {
	w := g.stdout
	fmt.Fprintf(w, "migration    %s → %s, started %s\n", st.Source, st.Target, st.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "migrated     %d of %d source users\n", st.Migrated, st.SourceUsers)
	printOrigins(w, st)
	fmt.Fprintf(w, "not yet      %d\n", st.NotMigrated)
	if st.PreExisting > 0 {
		fmt.Fprintf(w, "pre-existing %d (in the target before start: left alone)\n", st.PreExisting)
	}
	if st.Failed == nil {
		fmt.Fprintf(w, "failed       %s\n", st.FailedUnknown)
	} else {
		total := 0
		for _, n := range st.Failed {
			total += n
		}
		fmt.Fprintf(w, "failed       %d", total)
		for _, k := range slices.Sorted(maps.Keys(st.Failed)) {
			fmt.Fprintf(w, "  %s %d", termEscape(k), st.Failed[k])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "rate         %.1f users/hour over the last %s\n", st.PerHour, st.Window)
	if st.ProjectedEnd != nil {
		fmt.Fprintf(w, "projected    everyone by %s at this rate (or run 'cogvault migrate finish')\n", st.ProjectedEnd.Format(time.RFC3339))
	} else if st.NotMigrated > 0 {
		fmt.Fprintln(w, "projected    no sign-ins in the window: run 'cogvault migrate finish' to bring the rest")
	}
}

// printOrigins splits the migrated users into those who came over at a
// sign-in and those without the function's record (after finish: the
// users it restored).
func printOrigins(w io.Writer, st *migrate.Status) {
	if st.OriginUnknown != "" {
		fmt.Fprintf(w, "  origin     unknown: %s\n", st.OriginUnknown)
		return
	}
	fmt.Fprintf(w, "  at sign-in %d (recorded by the function; they kept their password)\n", st.AtSignIn)
	if st.TriggersRemoved {
		fmt.Fprintf(w, "  by finish  %d (no record of the function: restored by 'migrate finish', they reset their password; or migrated without completing a sign-in)\n", st.NoRecord)
	} else if st.NoRecord > 0 {
		fmt.Fprintf(w, "  no record  %d (not recorded by the function yet: a first sign-in not completed, e.g. after a password reset)\n", st.NoRecord)
	}
}

type migrateFinishOptions struct {
	pairOptions
	Via, RoleArn, Function           string
	KeepTrigger, DryRun, AllowOther  bool
	NoRecords                        bool
	MappingFile, StateFile, StateDir string
}

func newMigrateFinishCommand(g *globalOptions) *cobra.Command {
	var opts migrateFinishOptions
	cmd := &cobra.Command{
		Use:   "finish --from POOL_ID --to POOL_ID (--repo URL | --no-records) [--via admin|import] [--keep-trigger] [--dry-run]",
		Short: "Bring everyone not yet migrated, give all their groups, remove the triggers",
		Long: `Finish a migration:
  1. back up the source into --repo (or, with --no-records, a private
     temporary repository, removed afterwards);
  2. restore into the target every user not yet there, through the restore
     machinery (--via admin or import; see 'cogvault restore --help'). These
     users did not sign in during the migration: they reset their password
     ("forgot password"), as the report says. Users already in the target
     are left as they are;
  3. remove the migration function from the target's UserMigration and
     PostAuthentication triggers (--function-arn names it; default: the
     function in the UserMigration slot). A slot holding another function
     is left and reported; --keep-trigger leaves both;
  4. give the users the migration created at sign-in their source groups
     (the UserMigration trigger cannot);
  5. write the old sub → new sub mapping for every migrated user, those who
     signed in included (mode 0600, CSV and JSON, in the state directory or
     --mapping-file).

Who migrated: a target user created after start (the
cogvault:migration-start tag) counts as migrated from a source user only
with proof that the migration function made it from that user: its
users/ record in --repo, the repository the function records in (its
COGVAULT_REPO), or its pending record there bound to the user as the
function binds it (a user migrated by "forgot password" who has not signed
in yet), or custom:legacy_sub equal to the source user's sub when
the target has that attribute and every app client of the target lists
its WriteAttributes without it. A target user that matches a source user
by sign-in value without proof (someone who signed up under that name
after start, say) is a conflict: it gets no groups and no mapping, the
source user is not restored over it, and the report says what to do. A
user who was in the target before start never gets a group. --repo is
required unless the function has no repository: then pass --no-records.

Resumable: run the same command again after a failure. With --repo it
continues from the snapshot the interrupted run took; without, it backs up
again, and the users an earlier run created are kept, get their groups, and
are counted with those who signed in (when custom:legacy_sub proves them).
Every call is paced by the quotas (--max-share).

EXIT STATUS
  0  finished
  1  failed (run it again to resume)
  2  bad flags, or refused before any write
  3  finished, with users that could not be restored or conflicts (listed)`,
		Example: `  cogvault migrate finish --from us-east-1_Old --to us-east-1_New --repo s3://backups/cognito --dry-run
  cogvault migrate finish --from us-east-1_Old --to us-east-1_New --repo s3://backups/cognito
  cogvault migrate finish --from us-east-1_Old --to us-east-1_New --no-records`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMigrateFinish(cmd.Context(), opts, g)
		},
	}
	fs := cmd.Flags()
	opts.AddFlags(fs, "the target pool start prepared")
	fs.StringVar(&opts.Via, "via", "admin", "how the rest are restored: admin or import (see 'cogvault restore --help')")
	fs.StringVar(&opts.RoleArn, "import-role-arn", "", "with --via import: the role Cognito assumes to log the import (see 'cogvault restore --help')")
	fs.BoolVar(&opts.KeepTrigger, "keep-trigger", false, "leave the UserMigration and PostAuthentication triggers in place")
	fs.StringVar(&opts.Function, "function-arn", "", "the migration function's `ARN` (start's --function-arn); only trigger slots holding it are removed (default: the function in the UserMigration slot)")
	fs.BoolVar(&opts.AllowOther, "allow-triggers", false, "restore although the target has other Lambda triggers that act on restored users (see 'cogvault restore --help')")
	fs.StringVar(&opts.MappingFile, "mapping-file", "", "where to write the old-sub → new-sub mapping (`base` name: .csv and .json are added)")
	fs.StringVar(&opts.StateFile, "state-file", "", "the restore's progress file (resumable)")
	fs.StringVar(&opts.StateDir, "state-dir", "", stateDirHelp)
	fs.BoolVar(&opts.DryRun, "dry-run", false, "back up, then print what finish would do; change nothing in the target")
	fs.BoolVar(&opts.NoRecords, "no-records", false, "the migration function has no repository (no COGVAULT_REPO): only custom:legacy_sub proves who migrated")
	return cmd
}

// finishExistsHint is finish's advice for a user that appeared in the
// target while its restore ran (finish has no --on-existing): most likely
// one who migrated at sign-in meanwhile, whom the groups pass after the
// restore takes as migrated once the target's listing shows it.
const finishExistsHint = "if it migrated at sign-in meanwhile, it keeps its password and finish gives it its groups; run 'cogvault migrate finish' again if this report does not count it with those who signed in"

func runMigrateFinish(ctx context.Context, opts migrateFinishOptions, g *globalOptions) error {
	if opts.To == "" {
		return usageError("--to is required: the target pool start prepared")
	}
	if opts.Via != restore.ViaAdmin && opts.Via != restore.ViaImport {
		return usageError("--via %q: accepted values are admin and import", opts.Via)
	}
	if g.Repo == "" && !opts.NoRecords {
		return usageError("--repo is required: the repository the migration function records in (its COGVAULT_REPO); its records prove which target users the migration made. If the function has no repository, pass --no-records (then only custom:legacy_sub proves a migration, and other matching target users are reported as conflicts)")
	}
	_, dst, _, err := opts.clients(ctx, g)
	if err != nil {
		return err
	}
	if err := migrate.CheckFinish(ctx, dst, opts.To, opts.AllowOther); err != nil {
		return migrateFailed(err) // before the backup writes anything
	}
	dir := opts.StateDir
	if !opts.DryRun {
		if dir, err = stateDir(g.getenv, opts.StateDir); err != nil {
			return err
		}
	}
	mapping := sidePath(dir, opts.MappingFile, "cogvault-migrate-"+opts.To+".subs")
	if err := checkSideFiles(append(mappingFiles(mapping), opts.StateFile)...); err != nil {
		return err
	}
	statePath := func(id string) string {
		return sidePath(dir, opts.StateFile, fmt.Sprintf("cogvault-migrate-%s-%s.state", opts.To, id))
	}
	r, m, cleanup, err := finishSnapshot(ctx, g, opts, statePath)
	if err != nil {
		return err
	}
	defer cleanup()
	ro := restore.Options{Target: opts.To, Via: opts.Via, DryRun: opts.DryRun, AllowTriggers: opts.AllowOther, StatePath: statePath(m.ID),
		ExistsHint: finishExistsHint}
	ro.Import.RoleArn = opts.RoleArn
	if logsCfg, err := g.otherConfig(ctx); err == nil {
		ro.Import.Logs = cloudwatchlogs.NewFromConfig(logsCfg)
	}
	stats := &restore.Stats{}
	stop := g.progress(ctx,
		progress.Task{Name: "users", Done: stats.Users.Load, Total: stats.UsersTotal.Load},
		progress.Task{Name: "memberships", Done: stats.Memberships.Load},
	)
	res, err := migrate.Finish(ctx, dst, r, m, migrate.FinishOptions{Restore: ro, KeepTrigger: opts.KeepTrigger, Function: opts.Function,
		Records: g.Repo != "" && !opts.NoRecords, Stats: stats})
	stop()
	if err != nil {
		if errors.Is(err, migrate.ErrRefused) || errors.Is(err, restore.ErrRefused) {
			return migrateFailed(err)
		}
		return fmt.Errorf("%w (run the same command again to resume)", err)
	}
	if !opts.DryRun {
		if err := writeMappings(mapping, res.Mappings); err != nil {
			return err
		}
		// Done: a later finish backs up afresh instead of resuming.
		if err := os.Remove(ro.StatePath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return reportFinish(g, opts, res, mapping)
}

// finishSnapshot is the snapshot finish restores from. With --repo, a run
// that an interrupted finish left (its state file exists for the newest
// snapshot of the source) is resumed from that snapshot, so the restore
// continues where it stopped; otherwise the source is backed up now (into
// --repo or a private temporary repository, removed by cleanup).
func finishSnapshot(ctx context.Context, g *globalOptions, opts migrateFinishOptions, statePath func(string) string) (*repo.Repo, *snapshot.Manifest, func(), error) {
	none := func() {}
	src := *g
	if src.Repo != "" && !opts.DryRun {
		if r, err := src.openRepo(ctx, ""); err == nil {
			if m, err := resolveSnapshot(ctx, r, "latest", opts.From); err == nil {
				if _, err := os.Stat(statePath(m.ID)); err == nil {
					fmt.Fprintf(g.stderr, "cogvault: resuming the interrupted finish from snapshot %s\n", termEscape(m.ID))
					return r, m, none, nil
				}
			}
		}
	}
	cleanup := none
	if src.Repo == "" {
		tmp, err := os.MkdirTemp("", "cogvault-migrate-")
		if err != nil {
			return nil, nil, none, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		src.Repo = tmp
	}
	var backupOut bytes.Buffer
	src.stdout = &backupOut // the finish report is the output
	if err := runBackup(ctx, backupOptions{Pool: opts.From, ChunkRecords: snapshot.DefaultChunkRecords}, &src); err != nil {
		cleanup()
		return nil, nil, none, fmt.Errorf("finish: back up %s: %w", opts.From, err)
	}
	r, err := src.openRepo(ctx, "")
	if err != nil {
		cleanup()
		return nil, nil, none, err
	}
	m, err := resolveSnapshot(ctx, r, "latest", opts.From)
	if err != nil {
		cleanup()
		return nil, nil, none, err
	}
	return r, m, cleanup, nil
}

func reportFinish(g *globalOptions, opts migrateFinishOptions, res *migrate.FinishResult, mapping string) error {
	rep := res.Restore
	if g.json() {
		doc := map[string]any{"finish": res, "mappingFile": mapping + ".json", "dryRun": opts.DryRun}
		if opts.DryRun {
			delete(doc, "mappingFile")
		}
		if err := printJSON(g.stdout, doc); err != nil {
			return err
		}
	} else {
		w := g.stdout
		if opts.DryRun {
			fmt.Fprintln(w, "dry run: the target was not changed; finish would:")
		}
		fmt.Fprintf(w, "restored     %d user(s) who never signed in: they reset their password (forgot password) to sign in\n", rep.UsersCreate)
		fmt.Fprintf(w, "signed in    %d user(s) migrated at sign-in (they keep their password; after an interrupted finish, the users it restored count here too); %d group membership(s) added", res.SignedIn, res.MembershipsAdded)
		if res.GroupsMissing > 0 {
			fmt.Fprintf(w, " (%d skipped: group missing in the target)", res.GroupsMissing)
		}
		fmt.Fprintln(w)
		if res.PreExisting > 0 {
			fmt.Fprintf(w, "left alone   %d target user(s) that existed before the migration started\n", res.PreExisting)
		}
		switch {
		case res.TriggersRemoved:
			fmt.Fprintf(w, "triggers     the migration function removed from %s\n", opts.To)
		case opts.KeepTrigger:
			fmt.Fprintln(w, "triggers     kept (--keep-trigger)")
		}
		for _, s := range slices.Sorted(maps.Keys(res.TriggersLeft)) {
			fmt.Fprintf(w, "trigger left %s holds %s, not the migration function: left as it is (remove it yourself if it is a leftover)\n", s, termEscape(res.TriggersLeft[s]))
		}
		if !opts.DryRun {
			fmt.Fprintf(w, "sub mapping  %s.csv and .json (%d users; %d source users not in the target)\n", mapping, len(res.Mappings), res.Unmapped)
		}
		for _, it := range rep.NotRestored {
			fmt.Fprintf(w, "not restored %s: %s\n", termName(it.Username), termEscape(it.Reason))
		}
		for _, c := range res.Conflicts {
			fmt.Fprintf(w, "conflict     target user %s matches source user %s, but no record proves the migration made it: it got no groups and %s was not restored over it. If it is not that person, delete it ('aws cognito-idp admin-delete-user --user-pool-id %s --username …') and run finish again; if it is, give it its groups yourself\n",
				termName(c.TargetUsername), termName(c.SourceUsername), termName(c.SourceUsername), opts.To)
		}
	}
	if n := len(rep.NotRestored); n > 0 {
		return withCode(ExitIncomplete, fmt.Errorf("%d user(s) could not be restored (%s)", n, g.listed()))
	}
	if n := len(res.Conflicts); n > 0 {
		return withCode(ExitIncomplete, fmt.Errorf("%d target user(s) match a source user without proof that the migration made them (%s)", n, g.listed()))
	}
	return nil
}

// startRepoKey is the public key of the repository the function records
// in, for its COGVAULT_REPO_KEY ("" for an unsigned one). A real start
// initialises a repository that does not exist yet, as a first backup
// would; a dry run only reads one that exists.
func startRepoKey(ctx context.Context, g *globalOptions, dryRun bool) (string, error) {
	var r *repo.Repo
	var err error
	if dryRun {
		r, err = g.openRepo(ctx, "")
		if errors.Is(err, storage.ErrNoRepository) || errors.Is(err, repo.ErrNoConfig) {
			return "", nil
		}
	} else {
		r, err = g.createRepo(ctx, "")
	}
	if err != nil {
		return "", err
	}
	if !r.Trust.Signed {
		return "", nil
	}
	return sign.FormatPublicKey(r.Trust.Key), nil
}
