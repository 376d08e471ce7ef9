package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

type sha256Writer struct{ h hash.Hash }

func newSHA256() *sha256Writer { return &sha256Writer{h: sha256.New()} }

func (s *sha256Writer) Write(p []byte) (int, error) { return s.h.Write(p) }
func (s *sha256Writer) hex() string                 { return hex.EncodeToString(s.h.Sum(nil)) }
