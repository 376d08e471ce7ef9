package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrDamaged marks a stored object whose bytes are not those the manifest
// recorded.
var ErrDamaged = errors.New("object is damaged")

// VerifyingReader passes an object's bytes through and, at the end, checks
// their size and sha256 against the manifest's record of them: the final
// Read returns an error naming the object instead of io.EOF on a mismatch.
type VerifyingReader struct {
	r    io.Reader
	want ObjectInfo
	key  string
	h    hash.Hash
	n    int64
}

// NewVerifyingReader verifies r against want; key names the object in errors.
func NewVerifyingReader(r io.Reader, key string, want ObjectInfo) *VerifyingReader {
	return &VerifyingReader{r: r, want: want, key: key, h: sha256.New()}
}

func (v *VerifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.want.Size {
		return n, v.mismatch()
	}
	if err == io.EOF {
		if verr := v.check(); verr != nil {
			return n, verr
		}
	}
	return n, err
}

func (v *VerifyingReader) check() error {
	if v.n != v.want.Size {
		return v.mismatch()
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.SHA256 {
		return fmt.Errorf("%s: %w: sha256 mismatch (want %s, got %s): restore from an older snapshot or re-run backup",
			v.key, ErrDamaged, short(v.want.SHA256), short(got))
	}
	return nil
}

func (v *VerifyingReader) mismatch() error {
	return fmt.Errorf("%s: %w: size mismatch (want %d bytes, got %d%s): restore from an older snapshot or re-run backup",
		v.key, ErrDamaged, v.want.Size, v.n, map[bool]string{true: " or more", false: ""}[v.n > v.want.Size])
}

// Drain reads the rest of the object so that its checksum is checked even
// when the consumer stopped early.
func (v *VerifyingReader) Drain() error {
	_, err := io.Copy(io.Discard, v)
	return err
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
