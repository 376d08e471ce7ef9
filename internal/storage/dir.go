package storage

import (
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

func (d *Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file in the target's directory, syncs it, then
// links it into place: link fails if the target exists, which makes the
// write create-once, and readers never see a partial file.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := d.path(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("put %s: %w", key, mapFSErr(err))
	}
	var rb [8]byte
	_, _ = rand.Read(rb[:])
	tmp := filepath.Join(filepath.Dir(p), tmpPrefix+hex.EncodeToString(rb[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, mapFSErr(err))
	}
	defer os.Remove(tmp)
	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Link(tmp, p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("put %s: %w", key, ErrExist)
		}
		return fmt.Errorf("put %s: %w", key, mapFSErr(err))
	}
	if dir, err := os.Open(filepath.Dir(p)); err == nil {
		_ = dir.Sync() // make the new name durable
		_ = dir.Close()
	}
	return nil
}

func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, mapFSErr(err))
	}
	return f, nil
}

func (d *Dir) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, mapFSErr(err))
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
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, mapFSErr(err))
	}
	return nil
}

// List walks the directory in key order: entries of a directory are sorted
// as their keys sort, a subdirectory as its name plus "/".
func (d *Dir) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		// Start at the deepest directory the prefix fully names.
		base := ""
		if i := strings.LastIndex(prefix, "/"); i >= 0 {
			base = prefix[:i]
		}
		_, err := d.walk(ctx, base, prefix, yield)
		if err != nil {
			yield(ObjectInfo{}, err)
		}
	}
}

func (d *Dir) walk(ctx context.Context, rel, prefix string, yield func(ObjectInfo, error) bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	entries, err := os.ReadDir(filepath.Join(d.root, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("list %s: %w", d.root, mapFSErr(err))
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
		if e.IsDir() {
			// Descend only where keys can still match the prefix.
			if !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				continue
			}
			if more, err := d.walk(ctx, key, prefix, yield); !more || err != nil {
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
	root := filepath.Join(d.root, filepath.FromSlash(strings.TrimSuffix(prefix, "/")))
	n := 0
	var dirs []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
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
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
			if dirs[i] != root {
				_ = os.Remove(dirs[i])
			}
		}
	}
	return n, nil
}
