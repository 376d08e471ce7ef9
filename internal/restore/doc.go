// Package restore turns a snapshot into a plan against a target pool, then
// applies it through the Cognito admin API: groups first, then users
// (created with MessageAction=SUPPRESS so nothing is ever sent, brought to a
// state from which they can recover with "forgot password", disabled when
// they were, MFA preferences), then memberships and federated links.
//
// A restore is idempotent and resumable: a state file records, per user, the
// intent to create it and its completion, so a run killed at any point and
// started again finishes the job without losing or duplicating anyone.
//
// It imports cognito, snapshot and repo; it must not import cli, progress or
// cobra.
package restore
