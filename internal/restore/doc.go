// Package restore turns a snapshot into a plan against a target pool, then
// applies it through the Cognito admin API or user import jobs: groups
// first, then users (created with MessageAction=SUPPRESS so nothing is ever
// sent, disabled before they get a password when they were disabled,
// brought to a state from which they can recover with "forgot password",
// MFA preferences), then memberships and federated links.
//
// The plan reads the whole snapshot before the first write and decides
// every user: created, updated, skipped, resumed, or not restored with the
// reason. What would lose data (attributes the target lacks, existing users
// with --on-existing fail, a state file of another restore, a target whose
// sign-in the users could not use) refuses the restore before anything is
// written. In a pool that signs in with email or phone number, users are
// created and matched by that value. Only users this restore created or
// updated get memberships and links.
//
// A restore is idempotent and resumable: a state file, bound to one
// snapshot and one target, records per user the intent to create it (and
// by which path), its creation (new sub and username) and its completion,
// so a run killed at any point and started again finishes the job without
// losing or duplicating anyone, and reports as a fresh run would.
//
// It imports cognito, snapshot and repo; it must not import cli, progress or
// cobra.
package restore
