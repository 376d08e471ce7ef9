package restore

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/cogvault/cogvault/internal/storage"
)

// createdUser is what the state keeps of a "created" record in memory, per
// user of a restore that may hold millions: no field the key repeats.
type createdUser struct{ newName, oldSub, newSub, via, status string }

// sameOrNew is newName, or "" when it is the snapshot's username (the
// common case in a pool with plain usernames), which costs no memory.
func sameOrNew(username, newName string) string {
	if newName == username {
		return ""
	}
	return newName
}

// stateRecord is one line of the state file.
type stateRecord struct {
	Event    string `json:"e"` // "begin", "intent", "created", "done"
	Username string `json:"u,omitempty"`
	// NewName is the user's username in the target (created, done): the
	// snapshot's in a plain pool, the one Cognito assigned in a pool that
	// signs in with email or phone number.
	NewName string `json:"nu,omitempty"`
	OldSub  string `json:"old,omitempty"`
	NewSub  string `json:"new,omitempty"`
	// Via is "import" for users an import job set out to create (intent)
	// or created (created); Status is the status the job gave them.
	Via    string `json:"via,omitempty"`
	Status string `json:"st,omitempty"`
	// Why (intent, admin) is why an import restore sent the user through
	// the admin API, so that a resumed run reports it as the first did.
	Why string `json:"why,omitempty"`
	// N (members) is how many memberships, in snapshot order, a stopped
	// run had finished.
	N int `json:"n,omitempty"`
	// Target and Snapshot (begin) bind the file to one restore.
	Target   string `json:"target,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
	// Job (job, jobend) is a user import job: "job" is written once its
	// file is uploaded, before it is started, and covers the users of the
	// "file" record of the same name (or, in a state of an older cogvault,
	// the last Job.Users import intents before it); "jobend" once the job
	// has ended. A job with no "jobend" may still run: a later run waits
	// for it by id and never creates another for its users.
	//
	// "file" (Job.Name, Job.Users) is written before CreateUserImportJob
	// and covers the last Job.Users import intents: a file with no "job"
	// record may have a job the run did not live to record, which a later
	// run looks for by name; "fileend" (Job.Name) says it has none that
	// ever started, so its users go into a later file. "requeue"
	// (Username) puts back into a later file a user of a job whose end is
	// unknown (Cognito no longer knows it) that the target does not have.
	// "waitstart" (Job.ID, Job.WaitSince) is when a job's start was first
	// refused because another import job was active in the account.
	Job *jobRecord `json:"job,omitempty"`
}

// jobRecord is what the state keeps of one import job.
type jobRecord struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Users    int    `json:"users,omitempty"`
	Status   string `json:"status,omitempty"`
	Message  string `json:"message,omitempty"`
	Imported int64  `json:"imported,omitempty"`
	Skipped  int64  `json:"skipped,omitempty"`
	Failed   int64  `json:"failed,omitempty"`
	// WaitSince (RFC 3339) is when the job's start was first refused for
	// another active job ("waitstart").
	WaitSince string `json:"waitSince,omitempty"`
}

// jobEndUnknown is the status the state gives a job Cognito no longer
// knows: how it ended cannot be read.
const jobEndUnknown = "Unknown"

// stateJob is an import job the state knows, with the users it covers in
// the order of its file's lines.
type stateJob struct {
	rec   jobRecord // the "job" record, then the "jobend" one
	names []string
	ended bool
	// waitSince is when its start was first refused for another active
	// job, so that StartWait counts across runs (zero: not yet).
	waitSince time.Time
}

// ErrStateMismatch is returned for a state file written by the restore of
// another snapshot or into another pool.
var ErrStateMismatch = errors.New("the state file belongs to another restore")

// state is the restore's memory across runs: which users it set out to
// create, which it created (with their new sub and username) and which it
// finished. It is an append-only JSON Lines file, written with one write per
// record, so a killed process loses at most the record it was writing. Its
// first record names the target and the snapshot.
type state struct {
	mu      sync.Mutex
	f       *os.File
	intent  map[string]string // username → "admin" or "import"
	why     map[string]string // username → why the admin path (import restores)
	created map[string]createdUser
	done    map[string]string // username → its username in the target
	fresh   bool              // the file holds no record yet
	members int               // memberships finished, in snapshot order
	// jobs are the import jobs of this restore, in the order created;
	// unjobbed the import intents since the last "job" record; lineFail
	// why a job's line failed ("failed" records).
	jobs     []*stateJob
	unjobbed []string
	lineFail map[string]string
	// files are the import files recorded ("file") that no "job" record
	// covers yet, by name; unsent the import intents no job carries (their
	// file never became a job that started, or "requeue"): a later file
	// carries them.
	files  map[string][]string
	unsent map[string]bool
}

func openState(path, target, snapshotID string) (*state, error) {
	st := &state{intent: map[string]string{}, why: map[string]string{}, created: map[string]createdUser{}, done: map[string]string{}, lineFail: map[string]string{},
		files: map[string][]string{}, unsent: map[string]bool{}}
	// 0600 also when it existed, never through a link: it pairs usernames
	// with subs.
	f, err := storage.OpenPrivate(path, os.O_RDWR|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("open restore state %s: %w", path, err)
	}
	fail := func(err error) (*state, error) { f.Close(); return nil, err }
	br := bufio.NewReaderSize(f, 64<<10)
	var good int64 // end of the last whole record
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err == io.EOF {
			if len(b) > 0 {
				// A killed run tore its last write: cut it off, or the next
				// record would be appended to the fragment.
				if err := f.Truncate(good); err != nil {
					return fail(fmt.Errorf("restore state %s: cut off a torn last line: %w", path, err))
				}
			}
			break
		}
		if err != nil {
			return fail(fmt.Errorf("read restore state %s: %w", path, err))
		}
		var r stateRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return fail(fmt.Errorf("restore state %s: line %d is not a state record; it is not a file this restore wrote (give another --state-file)", path, line))
		}
		if line == 1 {
			if err := checkBegin(path, r, target, snapshotID); err != nil {
				return fail(err)
			}
		}
		st.apply(r)
		good += int64(len(b))
	}
	st.f = f
	st.fresh = good == 0
	return st, nil
}

// begin binds a new state file to its restore; it is called once the plan
// has passed, so a refused restore leaves no binding behind.
func (s *state) begin(target, snapshotID string) error {
	if !s.fresh {
		return nil
	}
	s.fresh = false
	return s.record(stateRecord{Event: "begin", Target: target, Snapshot: snapshotID})
}

// checkBegin refuses a state file of another restore: its users were
// created in another pool, or from another snapshot, so resuming from it
// would skip users that were never restored here.
func checkBegin(path string, r stateRecord, target, snapshotID string) error {
	if r.Event != "begin" {
		return fmt.Errorf("restore state %s: %w: it does not say which restore wrote it (an older cogvault); finish that restore with the version that began it, or give another --state-file", path, ErrStateMismatch)
	}
	if r.Target != target || r.Snapshot != snapshotID {
		return fmt.Errorf("restore state %s: %w: it records the restore of snapshot %s into %s, not of %s into %s; give another --state-file (or delete this one to start over)",
			path, ErrStateMismatch, r.Snapshot, r.Target, snapshotID, target)
	}
	return nil
}

func (s *state) apply(r stateRecord) {
	switch r.Event {
	case "intent":
		s.intent[r.Username] = r.Via
		if r.Why != "" {
			s.why[r.Username] = r.Why
		}
		if r.Via == ViaImport {
			s.unjobbed = append(s.unjobbed, r.Username)
			s.unsent[r.Username] = true
		} else {
			delete(s.unsent, r.Username)
		}
	case "job", "jobend", "failed", "file", "fileend", "requeue", "waitstart":
		s.applyJob(r)
	case "created":
		s.created[r.Username] = createdUser{newName: sameOrNew(r.Username, r.NewName), oldSub: r.OldSub, newSub: r.NewSub, via: r.Via, status: r.Status}
	case "done":
		s.done[r.Username] = sameOrNew(r.Username, r.NewName)
	case "members":
		s.members = max(s.members, r.N)
	}
}

func (s *state) record(r stateRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write restore state: %w", err)
	}
	s.apply(r)
	return nil
}

// membersDone is how many memberships a stopped run had finished.
func (s *state) membersDone() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.members
}

func (s *state) isDone(u string) bool {
	_, ok := s.doneName(u)
	return ok
}

// doneName is the target username of a user this restore finished (created
// or updated), in this run or an earlier one.
func (s *state) doneName(u string) (string, bool) {
	if s == nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.done[u]
	if ok && n == "" {
		n = u
	}
	return n, ok
}

// ours reports whether this restore (this or an earlier run) set out to
// create the user.
func (s *state) ours(u string) bool { return s.intentVia(u) != "" }

// importIntent reports whether an import job (this or an earlier run's)
// set out to create the user.
func (s *state) importIntent(u string) bool { return s.intentVia(u) == ViaImport }

// intentVia is the path that set out to create the user: ViaAdmin,
// ViaImport, or "" for none (or a file of an older cogvault).
func (s *state) intentVia(u string) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intent[u]
}

// adminWhy is why an import restore sent the user through the admin API.
func (s *state) adminWhy(u string) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why[u]
}

func (s *state) createdRecord(u string) (stateRecord, bool) {
	if s == nil {
		return stateRecord{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.created[u]
	if !ok {
		return stateRecord{}, false
	}
	return stateRecord{Event: "created", Username: u, NewName: orName(c.newName, u), OldSub: c.oldSub, NewSub: c.newSub, Via: c.via, Status: c.status}, true
}

func (s *state) mappings() []stateRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stateRecord, 0, len(s.created))
	for u, c := range s.created {
		out = append(out, stateRecord{Event: "created", Username: u, NewName: orName(c.newName, u), OldSub: c.oldSub, NewSub: c.newSub, Via: c.via, Status: c.status})
	}
	return out
}

// discard closes a state file the restore was refused before it began,
// removing it when this run created it: a refusal leaves nothing behind.
func (s *state) discard() {
	s.close()
	if s.fresh {
		os.Remove(s.f.Name())
	}
}

func (s *state) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

// applyJob applies the records of import jobs. A "file" record takes the
// last Users import intents: they were written, in line order, while its
// file was built; intents before them that no file took (a run killed
// while building one) stay unsent. A "job" record takes its file's users.
func (s *state) applyJob(r stateRecord) {
	switch r.Event {
	case "failed":
		s.lineFail[r.Username] = r.Why
		return
	case "requeue":
		s.unsent[r.Username] = true
		return
	}
	if r.Job == nil {
		return
	}
	switch r.Event {
	case "file":
		n := min(r.Job.Users, len(s.unjobbed))
		s.files[r.Job.Name] = append([]string(nil), s.unjobbed[len(s.unjobbed)-n:]...)
		s.unjobbed = nil
	case "fileend":
		delete(s.files, r.Job.Name) // its users stay unsent
	case "job":
		s.addJob(*r.Job)
	case "jobend":
		s.endJob(*r.Job)
	case "waitstart":
		if j := s.jobByID(r.Job.ID); j != nil {
			j.waitSince, _ = time.Parse(time.RFC3339Nano, r.Job.WaitSince)
		}
	}
}

// addJob ties a job to its file's users: the "file" record of its name,
// or, in a state of an older cogvault (no "file" records), the last Users
// import intents.
func (s *state) addJob(rec jobRecord) {
	names, ok := s.files[rec.Name]
	if ok {
		delete(s.files, rec.Name)
	} else {
		n := min(rec.Users, len(s.unjobbed))
		names = append([]string(nil), s.unjobbed[len(s.unjobbed)-n:]...)
		s.unjobbed = nil
	}
	rec.Users = len(names)
	for _, n := range names {
		delete(s.unsent, n)
	}
	s.jobs = append(s.jobs, &stateJob{rec: rec, names: names})
}

// endJob records a job's end, keeping what its "job" record said.
func (s *state) endJob(end jobRecord) {
	j := s.jobByID(end.ID)
	if j == nil {
		return
	}
	name, users := j.rec.Name, j.rec.Users
	j.rec, j.ended = end, true
	j.rec.Name, j.rec.Users = name, users
	if j.rec.Status == "Succeeded" {
		// Its failed lines are "failed" records: the names are needed
		// only to blame a job's end on its users.
		j.names = nil
	}
}

func (s *state) jobByID(id string) *stateJob {
	for _, j := range s.jobs {
		if j.rec.ID == id {
			return j
		}
	}
	return nil
}

// pendingFiles are the import files recorded that no job record covers:
// their run stopped before it recorded the job, if it made one.
func (s *state) pendingFiles() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.files))
	for name := range s.files {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// fileUsers is how many users the pending file name holds.
func (s *state) fileUsers(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files[name])
}

// unsentImport reports whether u is an import intent no job carries, so
// that a new import file must.
func (s *state) unsentImport(u string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsent[u]
}

// importJobs returns copies of the import jobs the state knows, in order.
func (s *state) importJobs() []stateJob {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]stateJob, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, *j)
	}
	return out
}

// lineFailures says why import lines failed, by username, as the jobs'
// logs said (this run or an earlier one).
func (s *state) lineFailures() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.lineFail))
	for n, why := range s.lineFail {
		out[n] = why
	}
	return out
}
