package backup

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
)

// A stopped step stores the subs it wrote as one small checkpoint object
// (16 bytes a user, before compression), named in its progress; a resumed
// step loads those lists instead of reading back every users chunk, so its
// start-up reads 16 bytes per user written so far, not the users
// themselves. A step killed before its progress was stored named its list
// nowhere: its subs are in no list, so the steps after it write those
// users again, and the final step removes that attempt's chunks (not named
// in the manifest) and its list (with every checkpoint of the snapshot).

// SubLists keeps the list of subs each stopped step wrote, beside the
// step's progress (capture: checkpoint objects of the repository, signed
// and encrypted as the rest). Objects are written once.
type SubLists interface {
	PutSubList(ctx context.Context, snapshotID, name string, r io.Reader) error
	GetSubList(ctx context.Context, snapshotID, name string) (io.ReadCloser, error)
}

// SubList names one stopped step's list of subs and how many it holds.
type SubList struct {
	Name string `json:"name"`
	Subs int64  `json:"subs"`
}

// subListMagic begins a sub list (after decompression): the format and its
// version. Then: uvarint n, n sorted 16-byte UUIDs, uvarint m, and m subs
// that are not UUIDs, each as uvarint length and bytes.
const subListMagic = "cogvault-subs 1\n"

// maxOtherSub bounds a sub that is not a UUID (a string attribute holds at
// most 2048 characters).
const maxOtherSub = 8192

// putSubList stores the subs this step wrote and returns their entry for
// the progress. The name has a random part: a retried step never collides
// with the list of an attempt killed before it stored its progress.
func (b *run) putSubList(ctx context.Context) (SubList, error) {
	var r [4]byte
	if _, err := io.ReadFull(b.opts.Rand, r[:]); err != nil {
		return SubList{}, fmt.Errorf("sub list name: %w", err)
	}
	name := fmt.Sprintf("subs-s%04d-%s.bin.zst", b.prog.Steps, hex.EncodeToString(r[:]))
	ids, others := b.seen.list()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(encodeSubList(pw, ids, others)) }()
	err := b.opts.SubLists.PutSubList(ctx, b.id, name, pr)
	pr.CloseWithError(err) // ends the encoder if the put gave up early
	if err != nil {
		return SubList{}, fmt.Errorf("store the subs step %d wrote (%s): %w", b.prog.Steps, name, err)
	}
	return SubList{Name: name, Subs: int64(len(ids) + len(others))}, nil
}

func encodeSubList(w io.Writer, ids []uuid.UUID, others []string) error {
	// A small window: the reader of each list then holds 1 MB, not 8.
	z, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(z)
	bw.WriteString(subListMagic)
	bw.Write(binary.AppendUvarint(nil, uint64(len(ids))))
	for _, id := range ids {
		bw.Write(id[:])
	}
	bw.Write(binary.AppendUvarint(nil, uint64(len(others))))
	for _, s := range others {
		bw.Write(binary.AppendUvarint(nil, uint64(len(s))))
		bw.WriteString(s)
	}
	if err := bw.Flush(); err != nil {
		z.Close()
		return err
	}
	return z.Close()
}

// priorSubs are the subs earlier steps wrote: read-only once loaded.
type priorSubs struct {
	sorted []uuid.UUID
	others map[string]struct{}
}

func (p *priorSubs) has(sub string) bool {
	if p == nil {
		return false
	}
	if id, err := uuid.Parse(sub); err == nil {
		_, found := slices.BinarySearchFunc(p.sorted, id, compareUUID)
		return found
	}
	_, ok := p.others[sub]
	return ok
}

// loadSubLists reads the lists of every earlier step and checks that they
// hold exactly the users the progress counts, each once.
func (b *run) loadSubLists(ctx context.Context, p *Progress) (*priorSubs, error) {
	var want int64
	for _, l := range p.SubLists {
		want += l.Subs
	}
	if want != p.Users {
		return nil, fmt.Errorf("backup progress: its sub lists hold %d subs, it counts %d users written: start a new snapshot", want, p.Users)
	}
	prior := &priorSubs{sorted: make([]uuid.UUID, 0, want), others: map[string]struct{}{}}
	for _, l := range p.SubLists {
		if err := b.readSubList(ctx, l, prior); err != nil {
			return nil, fmt.Errorf("read the subs step %s wrote: %w", l.Name, err)
		}
	}
	slices.SortFunc(prior.sorted, compareUUID)
	for i := 1; i < len(prior.sorted); i++ {
		if prior.sorted[i] == prior.sorted[i-1] {
			return nil, errors.New("backup progress: two steps' sub lists name the same sub: start a new snapshot")
		}
	}
	return prior, nil
}

// readSubList appends one step's list to prior.
func (b *run) readSubList(ctx context.Context, l SubList, prior *priorSubs) error {
	rc, err := b.opts.SubLists.GetSubList(ctx, b.id, l.Name)
	if err != nil {
		return err
	}
	defer rc.Close()
	z, err := zstd.NewReader(rc, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		return err
	}
	defer z.Close()
	r := bufio.NewReader(z)
	magic := make([]byte, len(subListMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != subListMagic {
		return fmt.Errorf("not a sub list of this version (%v)", err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || int64(n) > l.Subs {
		return fmt.Errorf("%d subs, the progress says %d (%v)", n, l.Subs, err)
	}
	first := len(prior.sorted)
	var id uuid.UUID
	for range n {
		if _, err := io.ReadFull(r, id[:]); err != nil {
			return fmt.Errorf("truncated: %w", err)
		}
		if len(prior.sorted) > first && compareUUID(prior.sorted[len(prior.sorted)-1], id) >= 0 {
			return errors.New("subs out of order")
		}
		prior.sorted = append(prior.sorted, id)
	}
	return readOtherSubs(r, l.Subs-int64(n), prior)
}

// readOtherSubs reads the list's subs that are not UUIDs: want of them,
// then its end.
func readOtherSubs(r *bufio.Reader, want int64, prior *priorSubs) error {
	m, err := binary.ReadUvarint(r)
	if err != nil || int64(m) != want {
		return fmt.Errorf("%d other subs, want %d (%v)", m, want, err)
	}
	for range m {
		size, err := binary.ReadUvarint(r)
		if err != nil || size > maxOtherSub {
			return fmt.Errorf("a sub of %d bytes (%v)", size, err)
		}
		s := make([]byte, size)
		if _, err := io.ReadFull(r, s); err != nil {
			return fmt.Errorf("truncated: %w", err)
		}
		if _, dup := prior.others[string(s)]; dup {
			return errors.New("two lists name the same sub")
		}
		prior.others[string(s)] = struct{}{}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return errors.New("bytes after its end")
	}
	return nil
}
