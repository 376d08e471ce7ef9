package crypt_test

import (
	"bytes"
	"io"
	"testing"

	"filippo.io/age"

	"github.com/cogvault/cogvault/internal/crypt"
	"github.com/cogvault/cogvault/internal/storage"
)

// BenchmarkEncryptedRoundTrip: what age adds to writing and reading a
// 16 MiB data object on disk.
//
//	go test -run '^$' -bench EncryptedRoundTrip ./internal/crypt
func BenchmarkEncryptedRoundTrip(b *testing.B) {
	for _, enc := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "age"}[enc], func(b *testing.B) {
			id, _ := age.GenerateX25519Identity()
			inner, _ := storage.NewDir(b.TempDir())
			var s storage.Store = inner
			if enc {
				s = crypt.Wrap(inner, []age.Recipient{id.Recipient()}, []age.Identity{id}, "data/")
			}
			data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
			b.SetBytes(int64(len(data)))
			for i := range b.N {
				key := "data/s/" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
				if err := s.Put(ctx, key, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				rc, err := s.Get(ctx, key)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}
