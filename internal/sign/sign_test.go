package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/cogvault/cogvault/internal/sign"
	"github.com/cogvault/cogvault/internal/sign/kmstest"
)

func newKeyFile(t *testing.T) *sign.FileSigner {
	t.Helper()
	s, err := sign.GenerateKeyFile(filepath.Join(t.TempDir(), "keys", "k.key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyFileIsPrivateAndNeverReplaced(t *testing.T) {
	s := newKeyFile(t)
	for _, p := range []string{s.Path, filepath.Dir(s.Path)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]os.FileMode{true: 0o700, false: 0o600}[fi.IsDir()]; fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if _, err := sign.GenerateKeyFile(s.Path); err == nil {
		t.Fatal("a second key replaced the first")
	}
	back, err := sign.LoadKeyFile(s.Path)
	if err != nil || !back.Public().Equal(s.Public()) {
		t.Fatalf("reloaded key: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "age.key")
	os.WriteFile(bad, []byte("AGE-SECRET-KEY-1XYZ\n"), 0o600)
	if _, err := sign.LoadKeyFile(bad); err == nil || !strings.Contains(err.Error(), "key generate --signing") {
		t.Fatalf("an age identity taken as a signing key: %v", err)
	}
}

func TestParsePublicKeyForms(t *testing.T) {
	pub := newKeyFile(t).Public()
	der, _ := x509.MarshalPKIXPublicKey(pub)
	forms := map[string]string{
		"printed":         sign.FormatPublicKey(pub),
		"terraform (DER)": base64.StdEncoding.EncodeToString(der),
		"pem":             string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
	}
	for name, s := range forms {
		got, err := sign.ParsePublicKey(" " + s + "\n")
		if err != nil || !got.Equal(pub) {
			t.Errorf("%s form: %v", name, err)
		}
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	for name, s := range map[string]string{
		"ecdsa":      base64.StdEncoding.EncodeToString(ecDER),
		"short":      "ed25519:AAAA",
		"garbage":    "not a key",
		"empty":      "",
		"age":        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		"raw base64": base64.StdEncoding.EncodeToString(pub),
	} {
		if _, err := sign.ParsePublicKey(s); err == nil {
			t.Errorf("%s accepted as an Ed25519 public key", name)
		}
	}
}

// TestOpenBindsEveryField: a signature made for one object verifies for
// that object only.
func TestOpenBindsEveryField(t *testing.T) {
	ctx := context.Background()
	s := newKeyFile(t)
	body := []byte(`{"id":"x"}`)
	env, err := sign.Seal(ctx, s, "repo1", "manifest", "snapshots/b.json", body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sign.Open(s.Public(), "repo1", "manifest", "snapshots/b.json", env)
	if err != nil || string(got) != string(body) {
		t.Fatalf("open: %q %v", got, err)
	}
	other := newKeyFile(t).Public()
	var e sign.Envelope
	json.Unmarshal(env, &e)
	e.Body = []byte(`{"id":"y"}`)
	changed, _ := json.Marshal(e)
	for name, try := range map[string]func() error{
		"other key": func() error { _, err := sign.Open(other, "repo1", "manifest", "snapshots/b.json", env); return err },
		"other repository": func() error {
			_, err := sign.Open(s.Public(), "repo2", "manifest", "snapshots/b.json", env)
			return err
		},
		"other kind": func() error { _, err := sign.Open(s.Public(), "repo1", "journal", "snapshots/b.json", env); return err },
		"renamed": func() error {
			_, err := sign.Open(s.Public(), "repo1", "manifest", "snapshots/c.json", env)
			return err
		},
		"changed body": func() error {
			_, err := sign.Open(s.Public(), "repo1", "manifest", "snapshots/b.json", changed)
			return err
		},
		"unsigned": func() error {
			_, err := sign.Open(s.Public(), "repo1", "manifest", "snapshots/b.json", body)
			return err
		},
	} {
		if err := try(); !errors.Is(err, sign.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	if len(sign.Statement("r", "manifest", "snapshots/b.json", [32]byte{})) > 4096 {
		t.Fatal("a statement exceeds KMS's RAW message limit")
	}
}

func kmsClient(f *kmstest.Server) *kms.Client {
	return kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.URL),
		Credentials: credentials.NewStaticCredentialsProvider("fake", "fake", "")})
}

// TestKMSSignerMakesPlainEd25519Signatures drives the real SDK client over
// HTTP against the KMS fake; the envelope verifies with crypto/ed25519 and
// the key's public key as Terraform's aws_kms_public_key gives it.
func TestKMSSignerMakesPlainEd25519Signatures(t *testing.T) {
	ctx := context.Background()
	f := kmstest.New(t)
	k := f.CreateKey("")
	s, err := sign.NewKMS(ctx, kmsClient(f), k.ARN)
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := sign.ParsePublicKey(base64.StdEncoding.EncodeToString(k.PublicDER()))
	if err != nil || !pinned.Equal(s.Public()) {
		t.Fatalf("public key: %v", err)
	}
	env, err := sign.Seal(ctx, s, "r", "journal", "journal/p/e.json", []byte("event"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Open(pinned, "r", "journal", "journal/p/e.json", env); err != nil {
		t.Fatal(err)
	}
	if f.Signs.Load() != 1 {
		t.Fatalf("%d Sign calls, want 1", f.Signs.Load())
	}
}

func TestKMSSignerRefusesUnusableKeys(t *testing.T) {
	ctx := context.Background()
	f := kmstest.New(t)
	ec := f.CreateKey("ECC_NIST_P256")
	if _, err := sign.NewKMS(ctx, kmsClient(f), ec.ARN); err == nil || !strings.Contains(err.Error(), "ECC_NIST_EDWARDS25519") {
		t.Fatalf("a P-256 key: %v", err)
	}
	if _, err := sign.NewKMS(ctx, kmsClient(f), "arn:aws:kms:us-east-1:123456789012:key/none"); err == nil || !strings.Contains(err.Error(), "NotFoundException") {
		t.Fatalf("a missing key: %v", err)
	}
	k := f.CreateKey("")
	s, err := sign.NewKMS(ctx, kmsClient(f), k.ARN)
	if err != nil {
		t.Fatal(err)
	}
	// A signature in another encoding (here DER-like padding) fails the
	// write that asked for it.
	f.Mangle = func(sig []byte) []byte { return append([]byte{0x30, 0x44}, sig...) }
	if _, err := sign.Seal(ctx, s, "r", "manifest", "snapshots/a.json", []byte("m")); err == nil || !strings.Contains(err.Error(), "not a plain Ed25519 signature") {
		t.Fatalf("a mangled KMS signature was accepted: %v", err)
	}
}

func TestTrustStorePinsOnFirstUseAndRefusesAChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cogvault", "trust.json")
	ts, err := sign.LoadTrust(path)
	if err != nil {
		t.Fatal(err)
	}
	a := sign.FormatPublicKey(newKeyFile(t).Public())
	if err := ts.Record("s3://b/p", sign.Trusted{ID: "r1", PublicKey: a, SigningKey: "/k"}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("trust store mode %v", fi.Mode().Perm())
	}
	back, _ := sign.LoadTrust(path)
	if e, ok := back.Lookup("s3://b/p"); !ok || e.PublicKey != a || e.SigningKey != "/k" {
		t.Fatalf("reloaded: %+v %v", e, ok)
	}
	b := sign.FormatPublicKey(newKeyFile(t).Public())
	if err := back.Record("s3://b/p", sign.Trusted{ID: "r1", PublicKey: b}); !errors.Is(err, sign.ErrKeyChanged) {
		t.Fatalf("a new key for a pinned repository: %v", err)
	}
	if err := back.Record("s3://b/p", sign.Trusted{ID: "r2", PublicKey: a}); !errors.Is(err, sign.ErrKeyChanged) {
		t.Fatalf("a new id for a pinned repository: %v", err)
	}
}

// BenchmarkSealOpen: the cost signing adds to each manifest or journal
// event write and read (a 4 KiB body), with a key file.
func BenchmarkSealOpen(b *testing.B) {
	ctx := context.Background()
	s, err := sign.GenerateKeyFile(filepath.Join(b.TempDir(), "k.key"))
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 4096)
	for b.Loop() {
		env, err := sign.Seal(ctx, s, "r", "journal", "journal/p/e.json", body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sign.Open(s.Public(), "r", "journal", "journal/p/e.json", env); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTrustStoreKeepsConcurrentRecords: cogvault processes sharing one
// configuration directory (parallel jobs) each record their repository;
// none loses another's entry.
func TestTrustStoreKeepsConcurrentRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trust.json")
	key := sign.FormatPublicKey(newKeyFile(t).Public())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		ts, err := sign.LoadTrust(path) // each loads before any records
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- ts.Record(fmt.Sprintf("s3://b/p%d", i), sign.Trusted{ID: fmt.Sprint(i), PublicKey: key})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ts, _ := sign.LoadTrust(path)
	if len(ts.Repos) != 16 {
		t.Fatalf("%d of 16 entries kept", len(ts.Repos))
	}
}
