// Package backup turns a live user pool into a snapshot: pool configuration,
// groups, users and group memberships, streamed into chunked objects of a
// repository with the manifest written last, so that a snapshot exists only
// once every byte of it is stored.
//
// Users are listed by 16 concurrent ListUsers token chains, one per first hex
// digit of the sub, and memberships by ListUsersInGroup per group (never one
// call per user); every call is paced by the caller's client (internal/awsx)
// so the run uses, and does not exceed, the account's UserList quota. Memory
// is bounded by the chunk size and the set of subs seen (16 bytes per user,
// to drop a user a chain returns twice), never by the pool.
//
// It imports internal/cognito, internal/snapshot and the standard library; it
// must not import cli, progress or cobra: progress is reported through the
// atomic counters of Stats.
package backup
