package restore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// action is what the plan decided for one snapshot user.
type action uint8

const (
	actNone   action = iota // not restored (reported)
	actCreate               // created by this restore
	actUpdate               // exists in the target; --on-existing update
	actSkip                 // exists in the target; --on-existing skip
	actResume               // an earlier run set out to create it
	actDone                 // an earlier run finished it
)

// needsWork reports whether the restore has calls to make for the user.
func (a action) needsWork() bool { return a == actCreate || a == actUpdate || a == actResume }

// writes reports whether the restore creates or changes the user, which is
// what earns it memberships and links.
func (a action) writes() bool {
	return a == actCreate || a == actUpdate || a == actResume || a == actDone
}

// planner classifies every user of the snapshot before the first write.
type planner struct {
	tg   *target
	st   *state
	opts Options
	src  signIn
	rep  *Report
	// act holds the decision per snapshot username.
	act map[string]action
	// lacking counts, per attribute the target's schema lacks, the users
	// that have it; conflicts lists users that exist with --on-existing fail.
	lacking   map[string]int
	conflicts []string
}

// makePlan reads the snapshot's users once and decides each one. Refusals
// that concern the whole restore (attributes the target lacks, conflicts
// with --on-existing fail) are returned as an error wrapping ErrRefused.
func makePlan(ctx context.Context, rp *repo.Repo, m *snapshot.Manifest, tg *target, st *state, opts Options, src signIn, rep *Report, users bool) (*planner, error) {
	p := &planner{tg: tg, st: st, opts: opts, src: src, rep: rep, act: map[string]action{}, lacking: map[string]int{}}
	for u, err := range rp.Users(ctx, m) {
		if err != nil {
			return nil, err
		}
		if !p.selected(u) {
			continue
		}
		p.act[u.Username] = p.plan(u)
	}
	if !users {
		// Only groups or memberships: no user is written, none can lose data.
		p.lacking, p.conflicts = nil, nil
	}
	if err := p.refusals(); err != nil {
		return nil, err
	}
	if m.Omits(snapshot.OmitMFAPreferences) {
		rep.Changed = append(rep.Changed, Item{What: "MFA preferences", Reason: "not in snapshot: it was taken without --mfa, so users' SMS and email MFA preferences were not read and are not restored"})
	}
	return p, nil
}

// work counts the users the restore has calls to make for.
func (p *planner) work() int {
	n := 0
	for _, a := range p.act {
		if a.needsWork() {
			n++
		}
	}
	return n
}

// selected applies --users-file, which may name a user by its snapshot
// username or by the email or phone number it signs in with.
func (p *planner) selected(u snapshot.User) bool {
	if p.opts.Users == nil || p.opts.Users[u.Username] {
		return true
	}
	for _, a := range signInOrder {
		if v, ok := u.Attr(a); ok && p.opts.Users[v] {
			return true
		}
	}
	return false
}

// refusals turns what would lose data into one error, before any write.
func (p *planner) refusals() error {
	var lines []string
	names := make([]string, 0, len(p.lacking))
	for a := range p.lacking {
		names = append(names, a)
	}
	sort.Strings(names)
	for _, a := range names {
		lines = append(lines, fmt.Sprintf("  attribute %s: the target pool's schema lacks it; %d user(s) have it%s", a, p.lacking[a], devHint(a)))
	}
	if len(lines) > 0 {
		return fmt.Errorf("restore: %w: nothing was written to %s:\n%s\nadd the attribute(s) to the target pool first (an immutable custom attribute can never be added to a user later), or pass --drop-attribute NAME for each to restore without it",
			ErrRefused, p.opts.Target, strings.Join(lines, "\n"))
	}
	if n := len(p.conflicts); n > 0 {
		return fmt.Errorf("restore: %w: %d user(s) already exist in %s (e.g. %s) and --on-existing is fail; nothing was written: choose --on-existing skip or update",
			ErrExisting, n, p.opts.Target, strings.Join(p.conflicts[:min(n, 3)], ", "))
	}
	return nil
}

// plan classifies one user and records it in the report. What cannot be
// restored exactly is decided here from the snapshot and the target alone,
// so every run reports it the same way, including for users an earlier run
// finished.
func (p *planner) plan(u snapshot.User) action {
	tg, rep := p.tg, p.rep
	if u.Status == "EXTERNAL_PROVIDER" {
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: "federated-only user: it is created again on its next sign-in through " + providerOf(u)})
		return actNone
	}
	login, why := tg.login(u)
	if why != "" {
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: why})
		return actNone
	}
	key := tg.key(login)
	if _, dup := tg.planned[key]; dup {
		rep.notRestored(Item{Username: u.Username, What: "user", Reason: p.collision()})
		return actNone
	}
	if !p.fits(u) {
		return actNone
	}
	a := p.decide(u, login)
	if a.writes() {
		// Users an earlier run finished count too, so that every run of
		// the same command reports (or refuses) the same way.
		p.countLacking(u)
	}
	if a != actNone && a != actSkip {
		p.notes(u, a)
	}
	return a
}

// decide says what the restore does with a user that can be restored,
// taking its key in the target.
func (p *planner) decide(u snapshot.User, login string) action {
	tg, rep := p.tg, p.rep
	tg.planned[tg.key(login)] = u.Username
	_, exists := tg.lookup(login)
	ours := p.st.ours(u.Username)
	exists = exists && !ours
	switch {
	case p.st.isDone(u.Username):
		rep.UsersSkip++
		return actDone
	case ours:
		rep.UsersResumed++
		return actResume
	case !exists:
		rep.UsersCreate++
		return actCreate
	case p.opts.OnExisting == OnExistingSkip:
		rep.UsersSkip++
		return actSkip
	case p.opts.OnExisting == OnExistingUpdate:
		rep.UsersUpdate++
		return actUpdate
	default: // OnExistingFail
		p.conflicts = append(p.conflicts, u.Username)
		return actNone
	}
}

// collision says why a user that is the same user in the target as another
// of the snapshot is not restored.
func (p *planner) collision() string {
	if len(p.tg.usernameAttrs) > 0 {
		return "another user of the snapshot signs in with the same " + strings.Join(p.tg.usernameAttrs, " or ") + " (the target compares email addresses without case)"
	}
	return "the target's usernames are case-insensitive and another user of the snapshot already takes this name"
}

// fits checks u's values against the target's schema: an over-long value
// makes the user unrestorable (reported).
func (p *planner) fits(u snapshot.User) bool {
	for _, a := range u.Attributes {
		if max, ok := p.tg.maxLen[a.Name]; ok {
			if n := utf8.RuneCountInString(a.Value); n > max {
				p.rep.notRestored(Item{Username: u.Username, What: "attribute " + a.Name, Reason: fmt.Sprintf("holds %d characters; the target pool allows %d, so the user was not restored (change the target's schema or the value in the source)", n, max)})
				return false
			}
		}
	}
	return true
}

// countLacking counts, for a user the restore writes, the attributes the
// target's schema lacks, for the refusal, unless --drop-attribute names them.
func (p *planner) countLacking(u snapshot.User) {
	for _, a := range u.Attributes {
		if a.Name == "sub" || a.Name == "identities" || p.tg.writable[a.Name] {
			continue
		}
		if p.opts.DropAttributes[a.Name] {
			p.rep.notRestored(Item{Username: u.Username, What: "attribute " + a.Name, Reason: "dropped (--drop-attribute): the target pool's schema lacks it"})
			continue
		}
		p.lacking[a.Name]++
	}
}

// notes lists what restoring u cannot carry exactly.
func (p *planner) notes(u snapshot.User, a action) {
	tg, rep := p.tg, p.rep
	created := a != actUpdate
	if !created {
		for _, at := range u.Attributes {
			if tg.writable[at.Name] && !tg.mutable[at.Name] {
				rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "attribute " + at.Name, Reason: "immutable in the target pool: an existing user's value cannot be changed"})
			}
		}
	}
	if created && len(tg.usernameAttrs) > 0 && len(p.src.UsernameAttributes) == 0 {
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "username", Reason: "the target pool signs in with " + strings.Join(tg.usernameAttrs, " or ") + ": the user signs in with that now, its old username is not kept"})
	}
	if created && len(tg.usernameAttrs) == 0 && len(p.src.UsernameAttributes) > 0 {
		p.aliasNote(u)
	}
	if created {
		p.pathNotes(u)
	}
	if u.MFA != nil && slices.Contains(u.MFA.UserMFASettingList, "SOFTWARE_TOKEN_MFA") {
		rep.notRestored(Item{Username: u.Username, What: "TOTP MFA", Reason: "authenticator-app secrets cannot be read from Cognito; the user sets up the app again"})
	}
	for _, id := range u.Identities {
		if !tg.providers[id.ProviderName] {
			rep.notRestored(Item{Username: u.Username, What: "link to " + id.ProviderName, Reason: "the target pool has no identity provider " + id.ProviderName})
		}
	}
}

// pathNotes says how the user is (or was, by an earlier run) created, where
// that is known before any call: from the state file, or because every
// user goes through the admin API. The import path notes the users it
// decides on itself; duplicates are folded in the report.
func (p *planner) pathNotes(u snapshot.User) {
	rep := p.rep
	rec, made := p.st.createdRecord(u.Username)
	switch via := p.st.intentVia(u.Username); {
	case made && rec.Via == ViaImport:
		importStatusNote(u, rec.Status, rep)
	case via == ViaImport:
		// An earlier run's job may have carried it: the import path looks.
	case via == ViaAdmin || made:
		if why := p.st.adminWhy(u.Username); why != "" {
			rep.Changed = append(rep.Changed, pathItem(u.Username, why))
		}
		adminStatusNote(u, rep)
	case p.opts.Via == ViaAdmin:
		adminStatusNote(u, rep)
	}
}

func pathItem(username, why string) Item {
	return Item{Username: username, What: "path", Reason: "restored through the admin API: " + why}
}

// aliasNote: a user of a pool that signed in with email or phone number,
// restored into one that takes them as aliases, signs in with a verified
// value only.
func (p *planner) aliasNote(u snapshot.User) {
	for _, a := range p.src.UsernameAttributes {
		if !slices.Contains(p.tg.aliasAttrs, a) {
			continue
		}
		if v, _ := u.Attr(a + "_verified"); v == "true" {
			return
		}
	}
	p.rep.Changed = append(p.rep.Changed, Item{Username: u.Username, What: "sign-in", Reason: "the target pool signs in with a username and takes email or phone number as an alias only once verified: the user signs in after verifying it"})
}

// adminStatusNote says what status a user created through the admin API
// ends up with, when it is not the one it had.
func adminStatusNote(u snapshot.User, rep *Report) {
	switch u.Status {
	case "CONFIRMED":
	case "FORCE_CHANGE_PASSWORD":
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "status", Reason: "FORCE_CHANGE_PASSWORD as before; send a new invitation (AdminCreateUser MessageAction=RESEND) when ready"})
	default:
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "status", Reason: u.Status + " restored as CONFIRMED: the admin API cannot create that state; the user resets the password like everyone else"})
	}
}

// importStatusNote says what status an imported user ended up with, when it
// is not the one it had.
func importStatusNote(u snapshot.User, got string, rep *Report) {
	if got != "" && u.Status != got {
		rep.Changed = append(rep.Changed, Item{Username: u.Username, What: "status",
			Reason: u.Status + " imported as " + got + ": imported users choose a new password at their next sign-in"})
	}
}

func providerOf(u snapshot.User) string {
	if len(u.Identities) > 0 {
		return u.Identities[0].ProviderName
	}
	return "its identity provider"
}
