// Package sign authenticates what a repository's writer stored: Ed25519
// signatures over a short canonical statement (domain-separation prefix,
// repository id, object kind, object key, sha256 of the stored bytes), made
// by a key file (the CLI) or an AWS KMS ECC_NIST_EDWARDS25519 key (the
// Lambda), and verified with crypto/ed25519 alone against a public key that
// does not come from the bucket (a flag, the environment, or the trust store
// that records a repository's key on first use, like SSH's known_hosts).
//
// It knows nothing of snapshots or stores; internal/repo decides which
// objects are signed.
package sign
