package sign

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// publicPrefix starts the public key form this tool prints.
const publicPrefix = "ed25519:"

// FormatPublicKey is the form the tool prints and --repo-key accepts:
// "ed25519:" + base64 of the 32 key bytes.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey accepts the tool's own form ("ed25519:…"), a PEM "PUBLIC
// KEY" block, or base64 of a DER SubjectPublicKeyInfo: the form KMS
// GetPublicKey returns over HTTP and Terraform's aws_kms_public_key data
// source exposes as public_key. Any other key type is refused.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty public key")
	}
	if raw, ok := strings.CutPrefix(s, publicPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public key %q: want %s and base64 of %d bytes", short(s), publicPrefix, ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(b), nil
	}
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, fmt.Errorf("public key %q: neither %s…, PEM, nor base64 of a DER SubjectPublicKeyInfo", short(s), publicPrefix)
		}
		der = b
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public key %q: not a DER SubjectPublicKeyInfo: %w", short(s), err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %q: a %T, not Ed25519 (a KMS key must have key spec ECC_NIST_EDWARDS25519)", short(s), k)
	}
	return pub, nil
}

func short(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// FileSigner signs with an Ed25519 private key read from a file.
type FileSigner struct {
	key  ed25519.PrivateKey
	Path string
}

// GenerateKeyFile writes a new Ed25519 private key to path (PKCS#8 PEM,
// mode 0600, its directory created 0700) and refuses to replace a file:
// losing a key would leave a repository that can no longer be written.
func GenerateKeyFile(path string) (*FileSigner, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	body := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := WriteNewFile(path, body); err != nil {
		return nil, fmt.Errorf("write signing key %s: %w", path, err)
	}
	return &FileSigner{key: priv, Path: path}, nil
}

// WriteNewFile creates path with body, mode 0600, never replacing a file.
func WriteNewFile(path string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// LoadKeyFile reads an Ed25519 private key file (PKCS#8 PEM, as
// GenerateKeyFile writes and `openssl genpkey -algorithm ed25519` makes).
func LoadKeyFile(path string) (*FileSigner, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("signing key %s: not a PEM \"PRIVATE KEY\" file (make one with 'cogvault key generate --signing')", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s: a %T, not Ed25519", path, k)
	}
	return &FileSigner{key: priv, Path: path}, nil
}

// Public returns the key's public half.
func (s *FileSigner) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign signs msg (pure Ed25519, RFC 8032).
func (s *FileSigner) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return ed25519.Sign(s.key, msg), nil
}

// String names the key without revealing it.
func (s *FileSigner) String() string { return s.Path }

// pemOf wraps DER bytes in a PEM "PUBLIC KEY" block for ParsePublicKey.
func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
