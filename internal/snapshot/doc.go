// Package snapshot defines cogvault's repository format: the records (users,
// groups, memberships, pool configuration), the chunked JSONL+zstd objects
// that hold them, the manifest that makes a snapshot exist, snapshot ids and
// the keys objects live under. docs/format.md writes the format down.
//
// It works on io.Reader and io.Writer only: internal/storage stores the
// bytes. It imports the standard library and codecs (klauspost/compress)
// only; it must not import the AWS SDK, storage, cli, progress or cobra.
package snapshot
