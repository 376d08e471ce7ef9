package storage

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// tmpPrefix marks files being written; they are never listed.
const tmpPrefix = ".tmp-"

// Dir is a Store in a local directory. Files are 0600 and directories 0700:
// a repository holds personal data.
type Dir struct {
	root string
}

// NewDir returns a store rooted at path, creating it if needed.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("repository path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", path, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create repository directory %s: %w", abs, mapFSErr(err))
	}
	return &Dir{root: abs}, nil
}

func (d *Dir) String() string { return d.root }

// path checks key and returns its path relative to the root.
func (d *Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.FromSlash(key), nil
}

// open returns the repository as an os.Root, opened per operation: every
// access through it stays inside the repository, so a symbolic link in it
// (say data -> /elsewhere) is never followed out, without a window between
// a check and the use. A link within the repository is followed.
func (d *Dir) open() (*os.Root, error) {
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", d.root, mapFSErr(err))
	}
	return r, nil
}

// fail explains err of an operation on key: when a component of the key's
// path is a symbolic link, that link is what to fix, and the error names it.
func (d *Dir) fail(op, key string, err error) error {
	rel := ""
	for part := range strings.SplitSeq(key, "/") {
		rel = filepath.Join(rel, part)
		fi, lerr := os.Lstat(filepath.Join(d.root, rel))
		if lerr != nil {
			break
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			to, _ := os.Readlink(filepath.Join(d.root, rel))
			return fmt.Errorf("%s %s: %s in repository %s %w (it points to %s): remove the link, or move what it points to into the repository", op, key, filepath.ToSlash(rel), d.root, ErrLink, to)
		}
	}
	return fmt.Errorf("%s %s: %w", op, key, mapFSErr(err))
}

// Put writes to a temporary file in the target's directory, syncs it, then
// links it into place: link fails if the target exists, which makes the
// write create-once, and readers never see a partial file.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := d.path(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return err
	}
	defer root.Close()
	dir := filepath.Dir(p)
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return d.fail("put", key, err)
	}
	var rb [8]byte
	_, _ = rand.Read(rb[:])
	tmp := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rb[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return d.fail("put", key, err)
	}
	defer root.Remove(tmp)
	if err := writeSynced(ctx, f, r); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := root.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("put %s: %w", key, ErrExist)
		}
		return d.fail("put", key, err)
	}
	if dh, err := root.Open(dir); err == nil {
		_ = dh.Sync() // make the new name durable
		_ = dh.Close()
	}
	return nil
}

// writeSynced copies r into f, syncs and closes it.
func writeSynced(ctx context.Context, f *os.File, r io.Reader) error {
	_, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return nil, err
	}
	defer root.Close() // the file stays open
	f, err := root.Open(p)
	if err != nil {
		return nil, d.fail("get", key, err)
	}
	return f, nil
}

func (d *Dir) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return ObjectInfo{}, err
	}
	defer root.Close()
	fi, err := root.Stat(p)
	if err != nil {
		return ObjectInfo{}, d.fail("stat", key, err)
	}
	if fi.IsDir() {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, ErrNotExist)
	}
	return ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	root, err := d.open()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return d.fail("delete", key, err)
	}
	return nil
}

// List walks the directory in key order: entries of a directory are sorted
// as their keys sort, a subdirectory as its name plus "/". A symbolic link
// in the repository is an error naming it, not an object.
func (d *Dir) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		// Start at the deepest directory the prefix fully names.
		base := ""
		if i := strings.LastIndex(prefix, "/"); i >= 0 {
			base = prefix[:i]
		}
		root, err := d.open()
		if err != nil {
			yield(ObjectInfo{}, err)
			return
		}
		defer root.Close()
		_, err = d.walk(ctx, root, base, prefix, yield)
		if err != nil {
			yield(ObjectInfo{}, err)
		}
	}
}

// readDir lists the directory rel of root; a missing one is empty.
func (d *Dir) readDir(root *os.Root, rel string) ([]fs.DirEntry, error) {
	f, err := root.Open(cmp.Or(filepath.FromSlash(rel), "."))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, d.fail("list", rel, err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.root, mapFSErr(err))
	}
	return entries, nil
}

func (d *Dir) walk(ctx context.Context, root *os.Root, rel, prefix string, yield func(ObjectInfo, error) bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	entries, err := d.readDir(root, rel)
	if err != nil {
		return false, err
	}
	sortKey := func(e fs.DirEntry) string {
		if e.IsDir() {
			return e.Name() + "/"
		}
		return e.Name()
	}
	sort.Slice(entries, func(i, j int) bool { return sortKey(entries[i]) < sortKey(entries[j]) })
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		key := e.Name()
		if rel != "" {
			key = rel + "/" + e.Name()
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if !strings.HasPrefix(key, prefix) && !strings.HasPrefix(prefix, key+"/") {
				continue
			}
			return false, d.fail("list", key, fs.ErrInvalid)
		}
		if e.IsDir() {
			// Descend only where keys can still match the prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				continue
			}
			if more, err := d.walk(ctx, root, key, prefix, yield); !more || err != nil {
				return more, err
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while listing
		}
		if err != nil {
			return false, fmt.Errorf("list %s: %w", key, err)
		}
		if !yield(ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil) {
			return false, nil
		}
	}
	return true, nil
}

func mapFSErr(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", ErrNotExist, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// Sweeper is a store that can remove what writes killed mid-way left
// behind and listing never shows (a directory store's temporary files).
type Sweeper interface {
	Sweep(ctx context.Context, prefix string, before time.Time, dryRun bool) (int, error)
}

// Sweep removes temporary files under prefix last written before before,
// and directories left empty, and returns how many files it removed (or,
// with dryRun, would remove). A write in progress touches its file, so a
// grace period keeps it safe.
func (d *Dir) Sweep(ctx context.Context, prefix string, before time.Time, dryRun bool) (int, error) {
	root, err := d.open()
	if err != nil {
		return 0, err
	}
	defer root.Close()
	// Through the root, a link out of the repository is never walked.
	start := cmp.Or(strings.TrimSuffix(prefix, "/"), ".")
	n := 0
	var dirs []string
	err = fs.WalkDir(root.FS(), start, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return d.fail("sweep", path, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			dirs = append(dirs, path)
			return nil
		}
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			return nil
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(before) {
			return nil
		}
		n++
		if dryRun {
			return nil
		}
		if err := root.Remove(filepath.FromSlash(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, mapFSErr(err))
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("sweep %s: %w", d.root, err)
	}
	if !dryRun {
		// Deepest first; a directory that is not empty stays (Remove fails).
		for i := len(dirs) - 1; i >= 0; i-- {
			if dirs[i] != start {
				_ = root.Remove(filepath.FromSlash(dirs[i]))
			}
		}
	}
	return n, nil
}
