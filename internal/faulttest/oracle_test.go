package faulttest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/snapshot"
	"github.com/cogvault/cogvault/internal/storage"
)

// ---- the oracle: a restored pool checked against the snapshot itself ----
//
// A restore that was killed, resumed or run under faults is judged against
// the snapshot it restored and the rules the README and the restore
// command's help document, never against another run of the same code: a
// bug every run shares would otherwise pass. The restore report is read
// only to excuse a difference it lists for that user, never to say what to
// expect.

// Restore paths, as --via spells them.
const (
	viaAdmin  = "admin"
	viaImport = "import"
	// importRole is the --import-role-arn of every import restore here.
	importRole = "arn:aws:iam::123456789012:role/import"
)

// snapshotData is the snapshot a restore read: every expectation of the
// oracle is derived from it.
type snapshotData struct {
	ID          string
	Users       []snapshot.User
	Groups      []snapshot.Group
	Memberships []snapshot.Membership
	// MFARead says the backup read users' MFA preferences (backup --mfa).
	MFARead bool
}

// loadSnapshot reads the latest snapshot of a repository directory.
func loadSnapshot(t tb, repoDir string) *snapshotData {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, repoDir, storage.Options{MustExist: true})
	if err != nil {
		t.Fatalf("open repository %s: %v", repoDir, err)
	}
	rp, _, err := repo.Open(ctx, store, repo.OpenOptions{})
	if err != nil {
		t.Fatalf("open repository %s: %v", repoDir, err)
	}
	m, err := rp.Resolve(ctx, "latest", "")
	if err != nil {
		t.Fatalf("latest snapshot of %s: %v", repoDir, err)
	}
	s := &snapshotData{ID: m.ID, MFARead: !m.Omits(snapshot.OmitMFAPreferences)}
	cfg, err := rp.Pool(ctx, m)
	if err != nil {
		t.Fatalf("snapshot %s: %v", m.ID, err)
	}
	s.Groups = cfg.Groups
	for u, err := range rp.Users(ctx, m) {
		if err != nil {
			t.Fatalf("snapshot %s: %v", m.ID, err)
		}
		s.Users = append(s.Users, u)
	}
	for mm, err := range rp.Memberships(ctx, m) {
		if err != nil {
			t.Fatalf("snapshot %s: %v", m.ID, err)
		}
		s.Memberships = append(s.Memberships, mm)
	}
	return s
}

// checkSnapshotIsSource makes sure the oracle's input is the pool that was
// backed up (read through the SDK, not through cogvault): a snapshot that
// lost users would otherwise make an incomplete restore look right.
func checkSnapshotIsSource(t tb, s *snapshotData, source *poolState) {
	t.Helper()
	var d []string
	groups := membershipsByUser(s)
	seen := map[string]bool{}
	for _, u := range s.Users {
		seen[u.Username] = true
		src := source.Users[u.Username]
		if src == nil {
			d = append(d, "snapshot user "+u.Username+" is not in the source pool")
			continue
		}
		attrs := map[string]string{}
		for _, a := range u.Attributes {
			if a.Name != "sub" {
				attrs[a.Name] = normAttr(a.Name, a.Value)
			}
		}
		if !mapsEqual(attrs, src.Attributes) {
			d = append(d, "snapshot user "+u.Username+": attributes differ from the source pool's")
		}
		if u.Sub != source.Subs[u.Username] || u.Status != src.Status || u.Enabled != src.Enabled {
			d = append(d, "snapshot user "+u.Username+": sub, status or enabled flag differs from the source pool's")
		}
		if !slices.Equal(groups[u.Username], src.Groups) {
			d = append(d, fmt.Sprintf("snapshot user %s: groups %v, the source pool %v", u.Username, groups[u.Username], src.Groups))
		}
		if s.MFARead && snapshotMFA(u) != src.MFA {
			d = append(d, fmt.Sprintf("snapshot user %s: MFA %s, the source pool %s", u.Username, snapshotMFA(u), src.MFA))
		}
	}
	for n := range source.Users {
		if !seen[n] {
			d = append(d, "source user "+n+" is not in the snapshot")
		}
	}
	if len(s.Groups) != len(source.Groups) {
		d = append(d, fmt.Sprintf("the snapshot has %d groups, the source pool %d", len(s.Groups), len(source.Groups)))
	}
	if len(d) > 0 {
		sort.Strings(d)
		t.Fatalf("the snapshot is not the source pool (the oracle would judge restores against the wrong thing):\n%s", first(d, 20))
	}
}

func snapshotMFA(u snapshot.User) string {
	if u.MFA == nil {
		return mfaKey("", nil)
	}
	return mfaKey(u.MFA.PreferredMfaSetting, u.MFA.UserMFASettingList)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// membershipsByUser maps each snapshot username to its groups, sorted.
func membershipsByUser(s *snapshotData) map[string][]string {
	out := map[string][]string{}
	for _, m := range s.Memberships {
		out[m.Username] = append(out[m.Username], m.Group)
	}
	for _, g := range out {
		sort.Strings(g)
	}
	return out
}

// restoreOutcome is what a finished restore left: the inputs of the oracle
// besides the snapshot.
type restoreOutcome struct {
	Via    string         // --via: viaAdmin or viaImport
	Code   int            // exit status of the run that finished
	Report *restoreReport // its --output json report: excuses only
	Target *poolState     // the target pool, read after the run
	// Mapping is the --mapping-file X the run was given: the CLI writes
	// X.csv and X.json.
	Mapping string
}

// excuses indexes the report's items: a difference the oracle finds is
// accepted only when an item names it for that user.
type excuses struct {
	notRestored map[string]map[string]bool // username → what
	changed     map[string]map[string]bool // username → what
	membership  map[[2]string]bool         // (username, group) of "membership" items
	global      map[string]bool            // what of the items that name no user
}

func newExcuses(rep *restoreReport) *excuses {
	e := &excuses{notRestored: map[string]map[string]bool{}, changed: map[string]map[string]bool{},
		membership: map[[2]string]bool{}, global: map[string]bool{}}
	add := func(to map[string]map[string]bool, it item) {
		if it.Username == "" {
			e.global[it.What] = true
			return
		}
		if to[it.Username] == nil {
			to[it.Username] = map[string]bool{}
		}
		to[it.Username][it.What] = true
		if it.What == "membership" && it.Group != "" {
			e.membership[[2]string{it.Username, it.Group}] = true
		}
	}
	for _, it := range rep.Report.NotRestored {
		add(e.notRestored, it)
	}
	for _, it := range rep.Report.Changed {
		add(e.changed, it)
	}
	return e
}

// listed says whether either list has an item what for user.
func (e *excuses) listed(user, what string) bool {
	return e.notRestored[user][what] || e.changed[user][what]
}

// restorableMFA are the MFA methods a restore can set (SMS and email);
// authenticator-app (TOTP) secrets cannot be read from Cognito.
var restorableMFA = map[string]bool{"SMS_MFA": true, "EMAIL_OTP": true}

// checkAgainstSnapshot is the oracle: it lists how a finished restore
// differs from what the documented rules make of the snapshot, every
// difference the report does not excuse.
//
//   - Every snapshot user is in the target exactly once, under its username,
//     unless it is federated-only (status EXTERNAL_PROVIDER: never
//     restored, and listed) or the report lists it as a "user" not restored
//     (then it is absent). No other user is in the target.
//   - Attributes equal the snapshot's but sub and identities (Cognito's
//     own), unless an "attribute X" item names the attribute for that user;
//     the same goes for an attribute the snapshot lacks.
//   - The enabled flag is the snapshot's.
//   - Status, through the admin API: FORCE_CHANGE_PASSWORD stays so, every
//     other status becomes CONFIRMED, and an UNCONFIRMED or RESET_REQUIRED
//     user is listed with a "status" item. With --via import, users the
//     import jobs carried are RESET_REQUIRED; those a "path" item lists
//     went through the admin API (rule above). A "status" item excuses no
//     other status: every such item names the status the documented rule
//     gives (FORCE_CHANGE_PASSWORD as before, X restored as CONFIRMED, X
//     imported as RESET_REQUIRED), so as an excuse it would accept
//     whatever a restore did to these users, and for a user a restore
//     creates the README leaves no status open.
//   - MFA: the SMS and email preferences are the snapshot's (when the
//     backup read them); TOTP is never restored and is listed as "TOTP MFA".
//   - Federated links of native users are restored, unless a "link to P"
//     item names the provider.
//   - Groups: every snapshot group with its description, precedence and
//     role ARN, and no other. Memberships: a restored user is in exactly
//     its snapshot groups, less those a "membership" item names.
//   - The exit status is 3 when the report lists items not restored, else 0.
//   - The sub mapping (X.csv and X.json) has one row per restored user: its
//     old sub from the snapshot, the sub it has in the target.
func checkAgainstSnapshot(s *snapshotData, out restoreOutcome) []string {
	var d []string
	ex := newExcuses(out.Report)
	got := out.Target
	groups := membershipsByUser(s)
	restored := map[string]bool{}
	inSnapshot := map[string]bool{}
	for _, u := range s.Users {
		inSnapshot[u.Username] = true
		g := got.Users[u.Username]
		listed := ex.notRestored[u.Username]["user"]
		switch {
		case u.Status == "EXTERNAL_PROVIDER":
			if g != nil {
				d = append(d, "federated-only user "+u.Username+" is in the target")
			}
			if !listed {
				d = append(d, "federated-only user "+u.Username+" is not listed as not restored")
			}
			continue
		case listed:
			if g != nil {
				d = append(d, "user "+u.Username+" is listed as not restored but is in the target")
			}
			continue
		case g == nil:
			d = append(d, "user "+u.Username+" is missing from the target (and not listed as not restored)")
			continue
		}
		restored[u.Username] = true
		d = append(d, checkUser(s, u, g, groups[u.Username], ex, out.Via)...)
	}
	for n := range got.Users {
		if !inSnapshot[n] {
			d = append(d, "user "+n+" is in the target but not in the snapshot")
		}
	}
	for _, dup := range got.duplicates() {
		d = append(d, "listed more than once: "+dup)
	}
	d = append(d, got.Problems...)

	inSnapshot = map[string]bool{}
	for _, sg := range s.Groups {
		inSnapshot[sg.Name] = true
		want := groupKey(sg.Description, sg.Precedence, sg.RoleArn)
		if have, ok := got.Groups[sg.Name]; !ok {
			d = append(d, "group "+sg.Name+" is missing from the target")
		} else if have != want {
			d = append(d, fmt.Sprintf("group %s: %s, the snapshot %s", sg.Name, have, want))
		}
	}
	for n := range got.Groups {
		if !inSnapshot[n] {
			d = append(d, "group "+n+" is in the target but not in the snapshot")
		}
	}

	wantCode := 0
	if len(out.Report.Report.NotRestored) > 0 {
		wantCode = 3
	}
	if out.Code != wantCode {
		d = append(d, fmt.Sprintf("exit status %d with %d item(s) not restored, want %d", out.Code, len(out.Report.Report.NotRestored), wantCode))
	}
	d = append(d, checkMappingFiles(out.Mapping, s, got, restored)...)
	sort.Strings(d)
	return d
}

// checkUser compares one restored user with its snapshot record.
func checkUser(s *snapshotData, u snapshot.User, g *userState, groups []string, ex *excuses, via string) []string {
	var d []string
	bad := func(format string, args ...any) {
		d = append(d, "user "+u.Username+": "+fmt.Sprintf(format, args...))
	}
	want := map[string]string{}
	for _, a := range u.Attributes {
		if a.Name != "sub" && a.Name != "identities" {
			want[a.Name] = a.Value
		}
	}
	for name, v := range want {
		if ex.listed(u.Username, "attribute "+name) {
			continue
		}
		if have, ok := g.Attributes[name]; !ok {
			bad("attribute %s is missing", name)
		} else if have != v {
			bad("attribute %s is %q, the snapshot %q", name, have, v)
		}
	}
	for name := range g.Attributes {
		if _, ok := want[name]; !ok && name != "identities" && !ex.listed(u.Username, "attribute "+name) {
			bad("attribute %s is not in the snapshot", name)
		}
	}

	if g.Enabled != u.Enabled {
		bad("enabled %v, the snapshot %v", g.Enabled, u.Enabled)
	}

	wantStatus := "CONFIRMED"
	if u.Status == "FORCE_CHANGE_PASSWORD" {
		wantStatus = "FORCE_CHANGE_PASSWORD"
	}
	admin := via == viaAdmin || ex.listed(u.Username, "path")
	if !admin {
		wantStatus = "RESET_REQUIRED"
	}
	if g.Status != wantStatus {
		bad("status %s (snapshot %s, --via %s), want %s", g.Status, u.Status, via, wantStatus)
	}
	if admin && (u.Status == "UNCONFIRMED" || u.Status == "RESET_REQUIRED") && !ex.listed(u.Username, "status") {
		// README: they "come back CONFIRMED (the admin API cannot create
		// those states); the report lists them".
		bad("was %s and went through the admin API, but the report has no status item for it", u.Status)
	}

	if s.MFARead && !ex.global["MFA preferences"] {
		var pref string
		var enabled []string
		if u.MFA != nil {
			for _, m := range u.MFA.UserMFASettingList {
				if restorableMFA[m] {
					enabled = append(enabled, m)
				}
			}
			if restorableMFA[u.MFA.PreferredMfaSetting] {
				pref = u.MFA.PreferredMfaSetting
			}
			if slices.Contains(u.MFA.UserMFASettingList, "SOFTWARE_TOKEN_MFA") && !ex.notRestored[u.Username]["TOTP MFA"] {
				bad("had TOTP MFA, which is not listed as not restored")
			}
		}
		if w := mfaKey(pref, enabled); g.MFA != w {
			bad("MFA %s, want %s (snapshot %s)", g.MFA, w, snapshotMFA(u))
		}
	}

	var wantLinks []string
	for _, id := range u.Identities {
		if !ex.listed(u.Username, "link to "+id.ProviderName) {
			wantLinks = append(wantLinks, id.ProviderName+":"+id.UserID)
		}
	}
	sort.Strings(wantLinks)
	for _, l := range g.Links {
		if provider, _, _ := strings.Cut(l, ":"); ex.listed(u.Username, "link to "+provider) {
			// Listed as not linked, yet linked: accept only a link the
			// snapshot has.
			if !slices.ContainsFunc(u.Identities, func(id snapshot.Identity) bool { return id.ProviderName+":"+id.UserID == l }) {
				bad("linked to %s, which the snapshot does not have", l)
			}
			continue
		}
		if !slices.Contains(wantLinks, l) {
			bad("linked to %s, which the snapshot does not have", l)
		}
	}
	for _, l := range wantLinks {
		if !slices.Contains(g.Links, l) {
			bad("link %s is missing", l)
		}
	}

	var wantGroups []string
	for _, grp := range groups {
		if !ex.membership[[2]string{u.Username, grp}] {
			wantGroups = append(wantGroups, grp)
		}
	}
	for _, grp := range g.Groups {
		if !slices.Contains(wantGroups, grp) && !ex.membership[[2]string{u.Username, grp}] {
			bad("member of %s, which the snapshot does not say", grp)
		}
	}
	for _, grp := range wantGroups {
		if !slices.Contains(g.Groups, grp) {
			bad("not a member of %s", grp)
		}
	}
	return d
}

// mappingRow is one row of the sub mapping, as the CLI writes it.
type mappingRow struct {
	OldSub      string `json:"oldSub"`
	NewSub      string `json:"newSub"`
	Username    string `json:"username"`
	NewUsername string `json:"newUsername"`
}

// checkMappingFiles checks base.csv and base.json: one row per restored
// user, its old sub the snapshot's, its new sub and username the target's;
// both files say the same.
func checkMappingFiles(base string, s *snapshotData, target *poolState, restored map[string]bool) []string {
	oldSub := map[string]string{}
	for _, u := range s.Users {
		oldSub[u.Username] = u.Sub
	}
	var d []string
	rows, err := readMappingCSV(base + ".csv")
	if err != nil {
		return []string{"sub mapping: " + err.Error()}
	}
	seen := map[string]bool{}
	for _, r := range rows {
		switch {
		case seen[r.Username]:
			d = append(d, "sub mapping: "+r.Username+" is in it twice")
		case !restored[r.Username]:
			d = append(d, "sub mapping: "+r.Username+" is in it but was not restored")
		case r.OldSub != oldSub[r.Username]:
			d = append(d, fmt.Sprintf("sub mapping: %s: old sub %s, the snapshot says %s", r.Username, r.OldSub, oldSub[r.Username]))
		case r.NewUsername != r.Username:
			d = append(d, fmt.Sprintf("sub mapping: %s: new username %s, the target has it as %s", r.Username, r.NewUsername, r.Username))
		case r.NewSub != target.Subs[r.Username]:
			d = append(d, fmt.Sprintf("sub mapping: %s: new sub %s, the target says %s", r.Username, r.NewSub, target.Subs[r.Username]))
		}
		seen[r.Username] = true
	}
	for n := range restored {
		if !seen[n] {
			d = append(d, "sub mapping: restored user "+n+" is not in it")
		}
	}
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return append(d, "sub mapping: "+err.Error())
	}
	var js []mappingRow
	if err := json.Unmarshal(b, &js); err != nil {
		return append(d, fmt.Sprintf("sub mapping %s.json: %v", base, err))
	}
	sortRows := func(rs []mappingRow) {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Username < rs[j].Username })
	}
	sortRows(rows)
	sortRows(js)
	if !slices.Equal(rows, js) {
		d = append(d, fmt.Sprintf("sub mapping: %s.csv (%d rows) and %s.json (%d rows) differ", base, len(rows), base, len(js)))
	}
	return d
}

func readMappingCSV(path string) ([]mappingRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd := csv.NewReader(f)
	var rows []mappingRow
	for n := 0; ; n++ {
		rec, err := rd.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if n == 0 {
			if strings.Join(rec, ",") != "old_sub,new_sub,username,new_username" {
				return nil, fmt.Errorf("%s: header %v", path, rec)
			}
			continue
		}
		if len(rec) != 4 {
			return nil, fmt.Errorf("%s: row %d has %d fields", path, n, len(rec))
		}
		rows = append(rows, mappingRow{OldSub: rec[0], NewSub: rec[1], Username: rec[2], NewUsername: rec[3]})
	}
}

// judge reads the target pool after a restore finished with r and checks
// it against the snapshot. It returns the first differences ("" when
// there are none) and the target as read.
func judge(t tb, s *snapshotData, endpoint, pool, via, mapping string, r result) (string, *poolState) {
	t.Helper()
	if r.Killed || (r.Code != 0 && r.Code != 3) {
		return fmt.Sprintf("the restore did not finish:\n%s", r), nil
	}
	got := readPool(t, sdkClient(t, endpoint), pool)
	d := checkAgainstSnapshot(s, restoreOutcome{Via: via, Code: r.Code, Report: parseRestore(t, r), Target: got, Mapping: mapping})
	if len(d) == 0 {
		return "", got
	}
	return fmt.Sprintf("the target differs from the snapshot in %d way(s) the report does not excuse:\n%s", len(d), summarize(d, 20)), got
}

// summarize folds the differences of many users into one line per kind
// (what follows "user NAME"), with a count and a few usernames, most
// frequent first; at most n lines.
func summarize(d []string, n int) string {
	type kind struct {
		text  string
		users []string
	}
	var kinds []*kind
	byText := map[string]*kind{}
	for _, line := range d {
		text, user := line, ""
		if rest, ok := strings.CutPrefix(line, "user "); ok {
			if i := strings.IndexAny(rest, " :"); i > 0 {
				user, text = rest[:i], "user …"+rest[i:]
			}
		}
		k := byText[text]
		if k == nil {
			k = &kind{text: text}
			byText[text] = k
			kinds = append(kinds, k)
		}
		k.users = append(k.users, user)
	}
	sort.SliceStable(kinds, func(i, j int) bool { return len(kinds[i].users) > len(kinds[j].users) })
	var out []string
	for _, k := range kinds {
		line := k.text
		if k.users[0] != "" {
			line = fmt.Sprintf("×%d %s (e.g. %s)", len(k.users), k.text, strings.Join(k.users[:min(3, len(k.users))], ", "))
		}
		out = append(out, line)
	}
	return first(out, n)
}

// unchanged lists how a pool changed between two reads (subs included).
func unchanged(before, after *poolState) []string {
	d := compareStates(before, after)
	for n, sub := range before.Subs {
		if after.Subs[n] != sub {
			d = append(d, "user "+n+": its sub changed")
		}
	}
	sort.Strings(d)
	return d
}
