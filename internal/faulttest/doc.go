// Package faulttest is cogvault's fault-injection matrix. It has no code of
// its own, only tests: they run the real cogvault binary and the real CLI
// against the project's fake Cognito (internal/cognitotest) and an in-process
// S3 fake (gofakes3), and check what the README promises when things go
// wrong.
//
// TestFaultCrash builds ./cmd/cogvault once (TestMain; with -race when the
// test runs with -race) and SIGKILLs it at random points, half at a random
// time, half after a random amount of progress (files in the repository,
// bytes of the restore state file):
//
//   - during backups: after every kill each snapshot in the repository
//     verifies (a backup is complete or absent), what killed runs left is
//     exactly what 'prune --dry-run' lists, a clean backup afterwards verifies
//     and matches the live pool, and prune removes what killed runs left;
//   - during restores, through the admin API and through user import jobs
//     (--via import --import-role-arn …; the fake runs the jobs in process):
//     the same command is re-run after every kill until it finishes; the
//     target must then be what the snapshot says (the oracle, below), and
//     one more run must change nothing (same users, subs, attributes,
//     status, MFA, groups) and still satisfy the oracle. A torn last line in
//     the state file (a kill in the middle of a write) must be survived too.
//     The import path's short tier is smaller (150 users, 3 kills): every
//     run pays for a job and its polling.
//
// TestFaultInjection runs the CLI in process under injected faults: throttle
// storms, 5xx bursts, latency spikes and connection resets (the fake's
// InjectFault) and responses lost after the fake applied the call (a proxy
// that drops the connection instead of answering), during backup and
// restore; and 500s, resets and lost answers in front of the S3 fake during
// backup. Each backup must verify and match the live pool; each restore,
// through either path, must satisfy the oracle; a backup to S3 may fail but
// must then leave no snapshot. The import path meets the admin path's
// storms, resets and lost admin writes, plus faults on the job's own calls:
// GetCSVHeader, CreateUserImportJob, StartUserImportJob and
// DescribeUserImportJob throttled, failing with 5xx, or answered to no one.
// A restore without faults is run twice: the second run changes nothing.
//
// The oracle (checkAgainstSnapshot in oracle_test.go) judges a restored
// pool against the snapshot itself, read from the repository (and first
// checked against the source pool as the SDK lists it), by the rules the
// README documents, never against another run of the same code:
//
//   - every snapshot user is in the target exactly once, but federated-only
//     users (EXTERNAL_PROVIDER: absent, and listed) and users the report
//     lists as "user" not restored (absent); no other user;
//   - attributes equal the snapshot's (sub and identities aside), enabled
//     flag equal;
//   - status: through the admin API FORCE_CHANGE_PASSWORD stays, every other
//     status becomes CONFIRMED and UNCONFIRMED/RESET_REQUIRED users are
//     listed; with --via import users the jobs carried are RESET_REQUIRED
//     and those listed with "path" went through the admin API;
//   - SMS and email MFA preferences as in the snapshot; TOTP is listed as
//     "TOTP MFA", never restored; federated links of native users restored;
//   - every snapshot group (description, precedence, role ARN) and no other;
//     a restored user is in exactly its snapshot groups;
//   - exit status 3 when the report lists items not restored, else 0;
//   - the sub mapping (X.csv and X.json of --mapping-file X) maps each
//     restored user's old sub to the sub it has in the target.
//
// The report (--output json) only excuses a difference an item names for
// that user ("attribute X", "link to P", "membership" of a group); it never
// says what to expect. A "status" item excuses nothing: every one names the
// status the rule gives, so it would excuse any status.
//
// The scenarios of each test run side by side in goroutines (their time is
// mostly the SDK's retry backoff) and report as subtests. Every scenario logs
// a row "scenario, faults injected, survived, result"; with -v the whole
// table is printed at the end:
//
//	go test -v -run Fault ./internal/faulttest
//
// Tiers. The default (short) tier runs in CI under -race: 5 kills per crash
// scenario (3 for the import path), smaller pools and bounded storms. The
// long tier kills the backup 40 times, the admin restore 40 times and the
// import restore 20 times (over several target pools), uses 600 users and 20
// groups everywhere, runs the storms and resets unbounded and the lost
// admin writes operation by operation:
//
//	COGVAULT_FAULT_LONG=1 go test -run . -v ./internal/faulttest
//
// COGVAULT_FAULT_SEED=N replays the random choices of an earlier run (each
// scenario logs its seed; timing still varies). A case that shows a bug
// fails, never skips: a regression must show as FAIL.
//
// The five bugs this matrix found when it was written are fixed: temporary
// files of killed writes are swept by prune, a torn state-file line is cut
// off, a create retried after a lost answer adopts its own user, and a
// create-once S3 PUT retried after a lost answer checks what is stored.
package faulttest
