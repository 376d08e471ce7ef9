package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// DefaultChunkRecords is how many records a data object holds by default:
// ~50k users make objects of a few MB, small enough to retry, large enough
// that a million users are 20 objects.
const DefaultChunkRecords = 50000

// maxLine bounds one record line when reading. A user with every attribute
// at Cognito's 2,048-character limit, fully escaped, stays far below it.
const maxLine = 8 << 20

// ObjectInfo describes one stored data object of a snapshot.
type ObjectInfo struct {
	// Name is the object's name inside data/<snapshot-id>/.
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Size and SHA256 are of the stored (compressed) bytes.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// PlainSHA256 is of the uncompressed JSONL, so a reader can tell a
	// damaged object from a damaged decoder.
	PlainSHA256 string `json:"plainSha256"`
	Records     int64  `json:"records"`
}

// chunkHeader is the first line of every chunk.
type chunkHeader struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	Kind    string `json:"kind"`
}

const chunkFormat = "cogvault-chunk"

// ChunkWriterOptions configures a ChunkWriter.
type ChunkWriterOptions struct {
	// Kind of the records (KindUsers, …), written in each chunk's header.
	Kind string
	// MaxRecords per chunk (default DefaultChunkRecords).
	MaxRecords int
	// Name returns the name of chunk n (1-based); default
	// "<kind>-%06d.jsonl.zst".
	Name func(n int) string
	// Create opens the object a chunk is streamed into. Closing it must
	// store the object; if it also has Abort(error), a failed chunk is
	// aborted instead, so that it is never stored.
	Create func(name string) (io.WriteCloser, error)
}

// ChunkWriter streams records into zstd-compressed JSONL chunks, rolling to a
// new chunk every MaxRecords. Memory stays bounded whatever the number of
// records: a chunk is never buffered, only hashed on its way out.
type ChunkWriter struct {
	opts  ChunkWriterOptions
	enc   *zstd.Encoder
	n     int
	cur   *chunk
	objs  []ObjectInfo
	err   error
	line  bytes.Buffer
	jsonE *json.Encoder
}

type chunk struct {
	name    string
	sink    io.WriteCloser
	stored  *hashCounter
	plain   *hashCounter
	records int64
}

// hashCounter hashes and counts what passes through it.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashCounter(w io.Writer) *hashCounter { return &hashCounter{w: w, h: sha256.New()} }

func (c *hashCounter) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	if c.w == nil {
		return len(p), nil
	}
	return c.w.Write(p)
}

func (c *hashCounter) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// NewChunkWriter returns a writer; nothing is created until the first Write.
func NewChunkWriter(opts ChunkWriterOptions) *ChunkWriter {
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = DefaultChunkRecords
	}
	if opts.Name == nil {
		kind := opts.Kind
		opts.Name = func(n int) string { return fmt.Sprintf("%s-%06d.jsonl.zst", kind, n) }
	}
	w := &ChunkWriter{opts: opts}
	w.jsonE = json.NewEncoder(&w.line)
	w.jsonE.SetEscapeHTML(false)
	return w
}

// Write appends one record (any JSON-encodable value) as one line.
func (w *ChunkWriter) Write(v any) error {
	if w.err != nil {
		return w.err
	}
	w.line.Reset()
	if err := w.jsonE.Encode(v); err != nil { // Encode ends the line with \n
		return fmt.Errorf("encode %s record: %w", w.opts.Kind, err)
	}
	if w.cur == nil {
		if err := w.open(); err != nil {
			return w.fail(err)
		}
	}
	if _, err := w.cur.plain.Write(w.line.Bytes()); err != nil {
		return w.fail(fmt.Errorf("write %s: %w", w.cur.name, err))
	}
	w.cur.records++
	if w.cur.records >= int64(w.opts.MaxRecords) {
		if err := w.closeChunk(); err != nil {
			return w.fail(err)
		}
	}
	return nil
}

func (w *ChunkWriter) open() error {
	w.n++
	name := w.opts.Name(w.n)
	sink, err := w.opts.Create(name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	stored := newHashCounter(sink)
	if w.enc == nil {
		// One encoder, reset per chunk; single-threaded with a 1 MiB window so
		// its memory is a few MB whatever the pool size.
		w.enc, err = zstd.NewWriter(stored, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20),
			zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return fmt.Errorf("zstd encoder: %w", err)
		}
	} else {
		w.enc.Reset(stored)
	}
	w.cur = &chunk{name: name, sink: sink, stored: stored, plain: newHashCounter(w.enc)}
	hdr, _ := json.Marshal(chunkHeader{Format: chunkFormat, Version: FormatVersion, Kind: w.opts.Kind})
	if _, err := w.cur.plain.Write(append(hdr, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (w *ChunkWriter) closeChunk() error {
	c := w.cur
	w.cur = nil
	if err := w.enc.Close(); err != nil {
		abort(c.sink, err)
		return fmt.Errorf("compress %s: %w", c.name, err)
	}
	if err := c.sink.Close(); err != nil {
		return fmt.Errorf("store %s: %w", c.name, err)
	}
	w.objs = append(w.objs, ObjectInfo{
		Name: c.name, Kind: w.opts.Kind, Size: c.stored.n, SHA256: c.stored.sum(),
		PlainSHA256: c.plain.sum(), Records: c.records,
	})
	return nil
}

// fail records the first error and aborts the chunk in progress.
func (w *ChunkWriter) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	if w.cur != nil {
		abort(w.cur.sink, err)
		w.cur = nil
	}
	return w.err
}

func abort(sink io.WriteCloser, err error) {
	if a, ok := sink.(interface{ Abort(error) }); ok {
		a.Abort(err)
		return
	}
	_ = sink.Close()
}

// Close finishes the last chunk and returns every chunk written.
func (w *ChunkWriter) Close() ([]ObjectInfo, error) {
	if w.err != nil {
		return nil, w.err
	}
	if w.cur != nil {
		if err := w.closeChunk(); err != nil {
			return nil, w.fail(err)
		}
	}
	return w.objs, nil
}

// Abort abandons the chunk in progress (it is never stored) and makes every
// later call fail with err.
func (w *ChunkWriter) Abort(err error) {
	_ = w.fail(err)
}

// ErrFormat marks data that is not a valid cogvault chunk or manifest.
var ErrFormat = errors.New("invalid snapshot data")

// ReadChunk yields the raw JSON records of one chunk of the given kind. name
// is used in errors. Every problem (not zstd, truncated, a header of another
// kind or a newer version, a line that is not JSON) is an error naming the
// chunk and the line; it never panics on garbage.
func ReadChunk(r io.Reader, name, kind string) iter.Seq2[json.RawMessage, error] {
	return ReadChunkTee(r, name, kind, nil)
}

// ReadChunkTee is ReadChunk that also copies the uncompressed bytes to plain
// (when not nil), so a verifier can hash them against PlainSHA256.
func ReadChunkTee(r io.Reader, name, kind string, plain io.Writer) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			yield(nil, fmt.Errorf("%s: %w: %w", name, ErrFormat, err))
			return
		}
		defer dec.Close()
		var src io.Reader = dec
		if plain != nil {
			src = io.TeeReader(dec, plain)
		}
		br := bufio.NewReaderSize(src, 64<<10)
		lineNo := 0
		next := func() ([]byte, error) {
			lineNo++
			var line []byte
			for {
				part, err := br.ReadSlice('\n')
				line = append(line, part...)
				if len(line) > maxLine {
					return nil, fmt.Errorf("%s: line %d: %w: longer than %d bytes", name, lineNo, ErrFormat, maxLine)
				}
				if err == bufio.ErrBufferFull {
					continue
				}
				if err == io.EOF {
					if len(line) > 0 {
						return nil, fmt.Errorf("%s: line %d: %w: truncated (no end of line)", name, lineNo, ErrFormat)
					}
					return nil, io.EOF
				}
				if err != nil {
					return nil, fmt.Errorf("%s: line %d: %w: %w", name, lineNo, ErrFormat, err)
				}
				return line[:len(line)-1], nil
			}
		}
		first, err := next()
		if err == io.EOF {
			yield(nil, fmt.Errorf("%s: %w: empty chunk (no header)", name, ErrFormat))
			return
		}
		if err != nil {
			yield(nil, err)
			return
		}
		var hdr chunkHeader
		if err := json.Unmarshal(first, &hdr); err != nil || hdr.Format != chunkFormat {
			yield(nil, fmt.Errorf("%s: %w: not a cogvault chunk (bad header line)", name, ErrFormat))
			return
		}
		if hdr.Version > FormatVersion {
			yield(nil, fmt.Errorf("%s: format version %d is newer than this cogvault understands (%d); upgrade cogvault", name, hdr.Version, FormatVersion))
			return
		}
		if hdr.Version < 1 {
			yield(nil, fmt.Errorf("%s: %w: format version %d", name, ErrFormat, hdr.Version))
			return
		}
		if hdr.Kind != kind {
			yield(nil, fmt.Errorf("%s: %w: holds %q records, want %q", name, ErrFormat, hdr.Kind, kind))
			return
		}
		for {
			line, err := next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !json.Valid(line) {
				yield(nil, fmt.Errorf("%s: line %d: %w: not JSON", name, lineNo, ErrFormat))
				return
			}
			// encoding/json would turn invalid UTF-8 into U+FFFD silently;
			// Cognito values are UTF-8, so such bytes are damage.
			if !utf8.Valid(line) {
				yield(nil, fmt.Errorf("%s: record %d: %w: not valid UTF-8", name, lineNo-1, ErrFormat))
				return
			}
			if !yield(json.RawMessage(line), nil) {
				return
			}
		}
	}
}

// CheckRecord decodes one raw record of kind and checks the fields every
// record of that kind has.
func CheckRecord(kind string, raw json.RawMessage) error {
	var v interface{ check() error }
	switch kind {
	case KindUsers:
		v = &User{}
	case KindMembers:
		v = &Membership{}
	case KindPool:
		v = &PoolConfig{}
	default:
		return fmt.Errorf("%w: unknown record kind %q", ErrFormat, kind)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := v.check(); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return nil
}

// Read yields the records of one chunk decoded as T, rejecting records that
// lack the fields every record of that kind has.
func Read[T any](r io.Reader, name, kind string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		n := 0
		for raw, err := range ReadChunk(r, name, kind) {
			if err != nil {
				yield(zero, err)
				return
			}
			n++
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				yield(zero, fmt.Errorf("%s: record %d: %w: %w", name, n, ErrFormat, err))
				return
			}
			if c, ok := any(&v).(interface{ check() error }); ok {
				if err := c.check(); err != nil {
					yield(zero, fmt.Errorf("%s: record %d: %w: %w", name, n, ErrFormat, err))
					return
				}
			}
			if !yield(v, nil) {
				return
			}
		}
	}
}

func (u *User) check() error {
	switch {
	case u.Username == "":
		return errors.New("user without username")
	case u.Sub == "":
		return fmt.Errorf("user %q without sub", u.Username)
	case u.Status == "":
		return fmt.Errorf("user %q without status", u.Username)
	}
	return nil
}

func (m *Membership) check() error {
	if m.Group == "" || m.Username == "" {
		return errors.New("membership without group or username")
	}
	return nil
}

func (p *PoolConfig) check() error {
	if len(p.UserPool) == 0 {
		return errors.New("pool configuration without userPool")
	}
	if p.FormatVersion > FormatVersion {
		return fmt.Errorf("pool configuration format version %d is newer than this cogvault understands (%d)", p.FormatVersion, FormatVersion)
	}
	return nil
}
