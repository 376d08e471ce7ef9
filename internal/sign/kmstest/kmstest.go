// Package kmstest is a small fake of AWS KMS for tests: the two operations
// a cogvault signer calls (GetPublicKey, Sign) over the AWS JSON 1.1
// protocol the SDK speaks (POST /, X-Amz-Target: TrentService.<Op>, JSON
// bodies with the API's member names, blobs as base64, errors as HTTP 400
// with {"__type", "message"}). Sources: the KMS API reference for Sign and
// GetPublicKey, and aws-sdk-go-v2 service/kms (awsjson.New11, api_op_Sign.go).
package kmstest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Key is one key the fake holds.
type Key struct {
	ARN     string
	Spec    string // ECC_NIST_EDWARDS25519, or another spec to test refusals
	Usage   string // SIGN_VERIFY
	private ed25519.PrivateKey
}

// Public is the key's public half.
func (k *Key) Public() ed25519.PublicKey { return k.private.Public().(ed25519.PublicKey) }

// PublicDER is the key's DER SubjectPublicKeyInfo, as GetPublicKey returns it.
func (k *Key) PublicDER() []byte {
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	return der
}

// Server is the fake.
type Server struct {
	URL   string
	mu    sync.Mutex
	keys  map[string]*Key
	Signs atomic.Int64 // Sign calls answered
	// PublicKeys counts GetPublicKey calls answered.
	PublicKeys atomic.Int64
	// Mangle, when set, replaces each signature Sign returns.
	Mangle func([]byte) []byte
}

// New starts a fake KMS that stops with the test.
func New(t testing.TB) *Server {
	s := &Server{keys: map[string]*Key{}}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// CreateKey adds a key of spec (ECC_NIST_EDWARDS25519 unless told) and
// returns it.
func (s *Server) CreateKey(spec string) *Key {
	if spec == "" {
		spec = "ECC_NIST_EDWARDS25519"
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s.mu.Lock()
	defer s.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:kms:us-east-1:123456789012:key/%08d-0000-4000-8000-000000000000", len(s.keys)+1)
	k := &Key{ARN: arn, Spec: spec, Usage: "SIGN_VERIFY", private: priv}
	s.keys[arn] = k
	return k
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		fail(w, "UnsupportedOperationException", "not a KMS JSON 1.1 request")
		return
	}
	var in struct {
		KeyId            string
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, "ValidationException", err.Error())
		return
	}
	s.mu.Lock()
	k := s.keys[in.KeyId]
	s.mu.Unlock()
	if k == nil {
		fail(w, "NotFoundException", "Key '"+in.KeyId+"' does not exist")
		return
	}
	switch op {
	case "GetPublicKey":
		s.PublicKeys.Add(1)
		reply(w, map[string]any{"KeyId": k.ARN, "KeySpec": k.Spec, "KeyUsage": k.Usage,
			"PublicKey": k.PublicDER(), "SigningAlgorithms": algorithms(k.Spec)})
	case "Sign":
		s.sign(w, k, in.Message, in.MessageType, in.SigningAlgorithm)
	default:
		fail(w, "UnsupportedOperationException", op+" is not in the fake")
	}
}

// sign follows the API reference: Message is at most 4096 bytes; with an
// ECC_NIST_EDWARDS25519 key, ED25519_SHA_512 requires MessageType RAW.
func (s *Server) sign(w http.ResponseWriter, k *Key, msg []byte, msgType, alg string) {
	switch {
	case len(msg) > 4096:
		fail(w, "ValidationException", "Message must be at most 4096 bytes")
	case k.Spec != "ECC_NIST_EDWARDS25519" || alg != "ED25519_SHA_512":
		fail(w, "InvalidKeyUsageException", "signing algorithm "+alg+" is not valid for key spec "+k.Spec)
	case msgType != "" && msgType != "RAW":
		fail(w, "ValidationException", "ED25519_SHA_512 requires MessageType RAW")
	default:
		sig := ed25519.Sign(k.private, msg)
		if s.Mangle != nil {
			sig = s.Mangle(sig)
		}
		s.Signs.Add(1)
		reply(w, map[string]any{"KeyId": k.ARN, "Signature": sig, "SigningAlgorithm": alg})
	}
}

func algorithms(spec string) []string {
	if spec == "ECC_NIST_EDWARDS25519" {
		return []string{"ED25519_SHA_512", "ED25519_PH_SHA_512"}
	}
	return []string{"ECDSA_SHA_256"}
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "kmstest")
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "kmstest")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
