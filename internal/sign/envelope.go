package sign

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Signer makes plain Ed25519 signatures (RFC 8032, 64 bytes) that
// crypto/ed25519 verifies.
type Signer interface {
	Sign(ctx context.Context, msg []byte) ([]byte, error)
	Public() ed25519.PublicKey
}

// ErrSignature means an object that must be signed is unsigned, or its
// signature does not verify against the repository's key.
var ErrSignature = errors.New("signature check failed")

// domain starts every statement, so that a cogvault signature can never be
// taken for a signature over anything else made with the same key.
const domain = "cogvault signed object v1\n"

// Statement is what is signed: never the object itself, so a KMS signer's
// 4,096-byte RAW message limit never matters. Binding the key (the object's
// name) means a legitimate old manifest renamed as a newer one, or an event
// copied to another key, fails; binding the repository id means objects
// copied from another repository signed by the same key fail.
func Statement(repoID, kind, key string, sum [32]byte) []byte {
	return fmt.Appendf(nil, "%srepository %s\nkind %s\nkey %s\nsha256 %s\n", domain, repoID, kind, key, hex.EncodeToString(sum[:]))
}

// Envelope is a signed object as stored: the stored bytes of the object
// (body) and the signature over its statement. It is JSON whose
// formatVersion is 2, so a cogvault that predates signing refuses it with
// "upgrade cogvault" instead of misreading it.
type Envelope struct {
	FormatVersion int    `json:"formatVersion"`
	Format        string `json:"format"`
	Repository    string `json:"repository"`
	Kind          string `json:"kind"`
	Key           string `json:"key"`
	PublicKey     string `json:"publicKey"`
	Signature     []byte `json:"signature"`
	Body          []byte `json:"body"`
}

// EnvelopeFormat names the envelope.
const EnvelopeFormat = "cogvault-signed"

// EnvelopeVersion is the repository format version signed objects carry.
const EnvelopeVersion = 2

// Seal signs body as object key of kind in repository repoID and returns
// the envelope to store.
func Seal(ctx context.Context, s Signer, repoID, kind, key string, body []byte) ([]byte, error) {
	sig, err := s.Sign(ctx, Statement(repoID, kind, key, sha256.Sum256(body)))
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", key, err)
	}
	e := Envelope{FormatVersion: EnvelopeVersion, Format: EnvelopeFormat, Repository: repoID, Kind: kind, Key: key,
		PublicKey: FormatPublicKey(s.Public()), Signature: sig, Body: body}
	return json.Marshal(e)
}

// IsEnvelope reports whether stored bytes look like an envelope (a JSON
// object naming the envelope format), signed correctly or not.
func IsEnvelope(b []byte) bool {
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) || !bytes.Contains(b, []byte(`"`+EnvelopeFormat+`"`)) {
		return false
	}
	var e struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &e) == nil && e.Format == EnvelopeFormat
}

// ParseEnvelope decodes an envelope without checking its signature.
func ParseEnvelope(b []byte, key string) (*Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil || e.Format != EnvelopeFormat {
		return nil, fmt.Errorf("%s: %w: not a signed object (the repository is signed, so every %s must be)", key, ErrSignature, kindWord(key))
	}
	if e.FormatVersion > EnvelopeVersion {
		return nil, fmt.Errorf("%s: signed-object format version %d is newer than this cogvault understands (%d); upgrade cogvault", key, e.FormatVersion, EnvelopeVersion)
	}
	return &e, nil
}

func kindWord(key string) string {
	if key == "config.json" {
		return "configuration"
	}
	return "manifest and journal event"
}

// Open checks that stored bytes are an envelope for object key of kind in
// repository repoID, signed by pub, and returns the body. The statement is
// rebuilt from what the reader knows (repoID, kind, key), never from what
// the envelope says, so a renamed or copied object fails.
func Open(pub ed25519.PublicKey, repoID, kind, key string, stored []byte) ([]byte, error) {
	e, err := ParseEnvelope(stored, key)
	if err != nil {
		return nil, err
	}
	if len(e.Signature) != ed25519.SignatureSize || !ed25519.Verify(pub, Statement(repoID, kind, key, sha256.Sum256(e.Body)), e.Signature) {
		return nil, fmt.Errorf("%s: %w: not signed by the repository's key %s (it names %q): someone without the key wrote or changed it", key, ErrSignature, FormatPublicKey(pub), e.PublicKey)
	}
	return e.Body, nil
}
