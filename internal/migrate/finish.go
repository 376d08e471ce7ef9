package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// FinishAPI is what finish calls on the target.
type FinishAPI interface {
	restore.API
	PoolAPI
	ClientReader
}

// FinishOptions says how finish brings the rest.
type FinishOptions struct {
	// Restore are the restore's options (Via, StatePath, DryRun, …);
	// Target is the migration's target. AllowTriggers lets the restore run
	// with triggers of the target other than the migration's own.
	Restore     restore.Options
	KeepTrigger bool
	// Function is the migration function's ARN (--function-arn); "" takes
	// the one in the target's UserMigration slot, which start refused to
	// take from another function. Only slots holding it are cleared.
	Function string
	// Records says the repository finish restores from is the migration's
	// (the function's COGVAULT_REPO): its users/ records prove which target
	// users the function made (proof.go). Without them only
	// custom:legacy_sub can prove a migration.
	Records bool
	Stats   *restore.Stats
}

// Conflict is a target user, created after the start, that matches a
// source user by sign-in value while nothing proves the migration made it
// from that user: it gets no groups and no mapping, and the source user
// is not restored over it.
type Conflict struct {
	SourceUsername string `json:"sourceUsername"`
	TargetUsername string `json:"targetUsername"`
}

// FinishResult is what finish did.
type FinishResult struct {
	Restore *restore.Report `json:"restore"`
	// SignedIn are users the migration created before this run: at sign-in
	// (they kept their password), or by an earlier, interrupted finish
	// (whose restore state a new backup does not continue: they are kept
	// and get their groups here).
	SignedIn         int  `json:"signedIn"`
	MembershipsAdded int  `json:"membershipsAdded"`
	GroupsMissing    int  `json:"groupsMissing"`
	PreExisting      int  `json:"preExisting"`
	TriggersRemoved  bool `json:"triggersRemoved"`
	// TriggersLeft are the slots (UserMigration, PostAuthentication) that
	// hold another function than the migration's: left as they are.
	TriggersLeft map[string]string `json:"triggersLeft,omitempty"`
	// Mappings pair every source user with the target user made from it.
	Mappings []restore.SubMapping `json:"-"`
	Unmapped int                  `json:"unmapped"`
	// Conflicts are target users no proof binds to the source user they
	// match (see Conflict).
	Conflicts []Conflict `json:"conflicts"`
}

// Finish brings everyone who has not signed in into the target (the restore
// machinery: resumable with Restore.StatePath, paced by the client), gives
// the users the migration created at sign-in their source groups (the
// UserMigration trigger cannot, and the restore gives groups only to users
// it wrote), removes the migration function from the two trigger slots
// and pairs every source user's sub with the target's. Only users a proof
// binds to their source user count as migrated (proof.go); other matches
// are reported as conflicts. A user who was in the target before the
// migration started is left exactly as it was.
func Finish(ctx context.Context, api FinishAPI, rp *repo.Repo, m *snapshot.Manifest, opts FinishOptions) (*FinishResult, error) {
	ro := opts.Restore
	target := ro.Target
	mt, err := newMatcher(ctx, api, target)
	if err != nil {
		return nil, fmt.Errorf("finish: %w", err)
	}
	p, err := describe(ctx, api, target)
	if err != nil {
		return nil, fmt.Errorf("finish: %w", err)
	}
	if err := otherTriggers(p.LambdaConfig, ro.AllowTriggers, target); err != nil {
		return nil, err
	}
	groups, err := readSource(ctx, rp, m, mt)
	if err != nil {
		return nil, err
	}
	pr, err := readProofs(ctx, api, rp, p, opts.Records)
	if err != nil {
		return nil, fmt.Errorf("finish: %w", err)
	}
	ro.AllowTriggers, ro.OnExisting = true, restore.OnExistingSkip
	if ro.SubAttribute == "" && hasAttr(p, LegacySubAttribute) {
		ro.SubAttribute = LegacySubAttribute
	}
	stats := opts.Stats
	if stats == nil {
		stats = &restore.Stats{}
	}
	rep, err := restore.Run(ctx, api, rp, m, ro, stats)
	res := &FinishResult{Restore: rep, Conflicts: []Conflict{}}
	if err != nil {
		return res, err
	}
	if !opts.KeepTrigger && !ro.DryRun {
		// Before the groups pass: no one migrates after it without groups.
		if err := removeTriggers(ctx, api, target, opts.Function, res); err != nil {
			return res, fmt.Errorf("finish: %w", err)
		}
	}
	if err := signedInGroups(ctx, api, mt, pr, target, groups, rep, ro.DryRun, res); err != nil {
		return res, err
	}
	slices.SortFunc(res.Conflicts, func(a, b Conflict) int { return strings.Compare(a.SourceUsername, b.SourceUsername) })
	res.Mappings = withRestored(res.Mappings, rep.Mappings)
	res.Unmapped = mt.sourceUsers - len(res.Mappings)
	return res, nil
}

// readProofs gathers what proves a migration (proof.go): the function's
// users/ records when rp is the migration's repository, and whether
// custom:legacy_sub proves one in the target p.
func readProofs(ctx context.Context, api ClientReader, rp *repo.Repo, p *types.UserPoolType, records bool) (proofs, error) {
	var pr proofs
	var err error
	if records {
		if pr.bySub, err = readUserRecords(ctx, rp, aws.ToString(p.Id)); err != nil {
			return pr, err
		}
		pr.rp = rp
	}
	pr.legacy, err = legacySubProves(ctx, api, p)
	return pr, err
}

// signedInGroups pairs every target user the migration created with its
// source user, and gives those the restore did not write (they migrated
// at sign-in) their source groups; users who were in the target before
// the migration are only counted, and conflicts (proof.go) listed.
func signedInGroups(ctx context.Context, api FinishAPI, mt *matcher, pr proofs, target string, groups map[string][]string, rep *restore.Report, dryRun bool, res *FinishResult) error {
	restored := map[string]bool{}
	for _, s := range rep.Mappings {
		restored[s.NewUsername] = true
	}
	return mt.eachClassified(ctx, api, pr, restored, func(u types.UserType, src sourceUser, v verdict) error {
		name := aws.ToString(u.Username)
		switch v {
		case preExisting:
			res.PreExisting++
			return nil
		case conflict:
			s, ok, err := mt.pendingSource(ctx, pr, u)
			if err != nil {
				return err
			}
			if !ok {
				res.Conflicts = append(res.Conflicts, Conflict{SourceUsername: src.username, TargetUsername: name})
				return nil
			}
			src = s
		}
		res.Mappings = append(res.Mappings, restore.SubMapping{OldSub: src.sub, NewSub: sub(u.Attributes), Username: src.username, NewUsername: name})
		if restored[name] {
			return nil
		}
		res.SignedIn++
		if pr.bySub[sub(u.Attributes)] != "" {
			// The function's PostAuthentication gave the groups when the
			// user migrated (its users/ record says so): adding them again
			// would undo what the new pool's admins changed since.
			return nil
		}
		if dryRun {
			res.MembershipsAdded += len(groups[src.username])
			return nil
		}
		return addGroups(ctx, api, target, name, groups[src.username], res)
	})
}

// withRestored adds the restore's own pairs that the target's listing did
// not show: it is eventually consistent (facts §11), and a user the
// restore just created may not be listed yet.
func withRestored(listedPairs, restored []restore.SubMapping) []restore.SubMapping {
	listed := map[string]bool{}
	for _, s := range listedPairs {
		listed[s.NewUsername] = true
	}
	for _, s := range restored {
		if !listed[s.NewUsername] {
			listedPairs = append(listedPairs, s)
		}
	}
	return listedPairs
}

// readSource feeds the snapshot's users to the matcher and returns each
// source user's groups.
func readSource(ctx context.Context, rp *repo.Repo, m *snapshot.Manifest, mt *matcher) (map[string][]string, error) {
	for u, err := range rp.Users(ctx, m) {
		if err != nil {
			return nil, fmt.Errorf("finish: read snapshot %s: %w", m.ID, err)
		}
		mt.addSource(sourceUser{username: u.Username, sub: u.Sub}, mt.signIn.recordKeys(u))
	}
	groups := map[string][]string{}
	for mm, err := range rp.Memberships(ctx, m) {
		if err != nil {
			return nil, fmt.Errorf("finish: read snapshot %s: %w", m.ID, err)
		}
		groups[mm.Username] = append(groups[mm.Username], mm.Group)
	}
	return groups, nil
}

// addGroups adds a migrated user to its source groups. AdminAddUserToGroup
// is idempotent, so a resumed finish adds again harmlessly; a group the
// target lacks is counted, not fatal.
func addGroups(ctx context.Context, api FinishAPI, pool, user string, groups []string, res *FinishResult) error {
	for _, g := range groups {
		_, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: &pool, GroupName: aws.String(g), Username: aws.String(user)})
		switch {
		case err == nil:
			res.MembershipsAdded++
		case cognito.IsNotFound(err):
			res.GroupsMissing++
		default:
			return fmt.Errorf("finish: add a migrated user of %s to group %q: %w", pool, g, err)
		}
	}
	return nil
}

// otherTriggers refuses, unless allowed, a target with triggers besides
// the migration's that the restore fires or that act on the users it
// creates (restore's gated triggers, facts §13).
func otherTriggers(lc *types.LambdaConfigType, allowed bool, pool string) error {
	if lc == nil || allowed {
		return nil
	}
	var names []string
	for n, v := range map[string]*string{"PreSignUp": lc.PreSignUp, "CustomMessage": lc.CustomMessage,
		"PostConfirmation": lc.PostConfirmation, "PreTokenGeneration": lc.PreTokenGeneration} {
		if aws.ToString(v) != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return fmt.Errorf("finish: %w: the target %s has Lambda triggers the restore fires or that act on the users it creates: %s; nothing was written: pass --allow-triggers (see 'cogvault restore --help')", ErrRefused, pool, strings.Join(names, ", "))
}

// removeTriggers clears the UserMigration and PostAuthentication slots of
// pool that hold the migration's function fn ("" takes the UserMigration
// slot's), in one read-modify-write UpdateUserPool (it resets what a
// request omits, facts §26). A slot holding another function, such as a
// team's own PostAuthentication put back after start, is left and
// reported in res.TriggersLeft.
func removeTriggers(ctx context.Context, api PoolAPI, pool, fn string, res *FinishResult) error {
	p, err := describe(ctx, api, pool)
	if err != nil {
		return err
	}
	if fn == "" {
		fn = slot(p.LambdaConfig, SlotUserMigration)
	}
	in, err := updateInput(p)
	if err != nil {
		return fmt.Errorf("carry the settings of %s: %w", pool, err)
	}
	if in.LambdaConfig == nil {
		return nil
	}
	cleared := 0
	for _, s := range []struct {
		name string
		arn  **string
	}{{SlotUserMigration, &in.LambdaConfig.UserMigration}, {SlotPostAuthentication, &in.LambdaConfig.PostAuthentication}} {
		switch cur := aws.ToString(*s.arn); {
		case cur == "":
		case cur == fn:
			*s.arn = nil
			cleared++
		default:
			if res.TriggersLeft == nil {
				res.TriggersLeft = map[string]string{}
			}
			res.TriggersLeft[s.name] = cur
		}
	}
	if cleared == 0 {
		return nil
	}
	if _, err := api.UpdateUserPool(ctx, in); err != nil {
		return fmt.Errorf("remove the migration triggers of %s: %w", pool, err)
	}
	res.TriggersRemoved = true
	return nil
}
