package sign

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMSAPI is the part of the KMS client the signer calls.
type KMSAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// KMSSigner signs with an AWS KMS asymmetric key of key spec
// ECC_NIST_EDWARDS25519; the private key never leaves KMS and the caller
// needs only kms:Sign (and kms:GetPublicKey once, at start, unless the
// caller knows the public key: NewKMSWithKey).
type KMSSigner struct {
	api   KMSAPI
	keyID string
	pub   ed25519.PublicKey
}

// NewKMS reads the key's public key and checks it can make the signatures
// readers verify: key spec ECC_NIST_EDWARDS25519, usage SIGN_VERIFY,
// algorithm ED25519_SHA_512 (the KMS API reference, GetPublicKey and Sign;
// aws-sdk-go-v2 service/kms types.KeySpecEccNistEdwards25519,
// types.SigningAlgorithmSpecEd25519Sha512).
func NewKMS(ctx context.Context, api KMSAPI, keyID string) (*KMSSigner, error) {
	out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("KMS signing key %s: get its public key: %w", keyID, err)
	}
	if out.KeySpec != types.KeySpecEccNistEdwards25519 || out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("KMS signing key %s: key spec %s, usage %s; cogvault needs an asymmetric key with key spec ECC_NIST_EDWARDS25519 and usage SIGN_VERIFY", keyID, out.KeySpec, out.KeyUsage)
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEd25519Sha512) {
		return nil, fmt.Errorf("KMS signing key %s: does not offer signing algorithm ED25519_SHA_512", keyID)
	}
	// GetPublicKey returns a DER SubjectPublicKeyInfo (RFC 5280); the SDK
	// has already decoded the HTTP API's base64.
	pub, err := ParsePublicKey(pemOf(out.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("KMS signing key %s: %w", keyID, err)
	}
	return &KMSSigner{api: api, keyID: keyID, pub: pub}, nil
}

// NewKMSWithKey is NewKMS for a caller that already knows the key's public
// key (the Lambda: COGVAULT_REPO_KEY), so that its role needs kms:Sign
// alone. Nothing is checked up front; every signature is checked against
// pub, so a key of another spec, or another key, fails the first write.
func NewKMSWithKey(api KMSAPI, keyID string, pub ed25519.PublicKey) *KMSSigner {
	return &KMSSigner{api: api, keyID: keyID, pub: pub}
}

// Public returns the KMS key's public key.
func (s *KMSSigner) Public() ed25519.PublicKey { return s.pub }

// Sign asks KMS for a pure Ed25519 signature over msg: algorithm
// ED25519_SHA_512 with MessageType RAW (the API reference for Sign:
// ED25519_SHA_512 requires RAW; messages are 0–4,096 bytes, and a statement
// is about 250). The API reference does not spell out the signature's
// encoding for Ed25519 (it does for RSA and ECDSA), so the signature is
// checked here against the public key: a signer that returned anything but
// a plain RFC 8032 signature fails its first write, never a later read.
func (s *KMSSigner) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > 4096 {
		return nil, fmt.Errorf("KMS signs messages of at most 4096 bytes, this one has %d", len(msg))
	}
	out, err := s.api.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.keyID),
		Message:          msg,
		MessageType:      types.MessageTypeRaw,
		SigningAlgorithm: types.SigningAlgorithmSpecEd25519Sha512,
	})
	if err != nil {
		return nil, fmt.Errorf("KMS sign with %s: %w", s.keyID, err)
	}
	if len(out.Signature) != ed25519.SignatureSize || !ed25519.Verify(s.pub, msg, out.Signature) {
		return nil, fmt.Errorf("KMS sign with %s: the signature (%d bytes) is not a plain Ed25519 signature by the key's public key", s.keyID, len(out.Signature))
	}
	return out.Signature, nil
}

// String names the key.
func (s *KMSSigner) String() string { return "kms:" + s.keyID }
