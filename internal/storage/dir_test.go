package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/storage"
	"github.com/cogvault/cogvault/internal/storage/storagetest"
)

func TestDirConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := storage.NewDir(filepath.Join(t.TempDir(), "repo"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, storagetest.Options{LargeSize: 5 << 20})
}

func TestDirFilesArePrivate(t *testing.T) {
	root := filepath.Join(t.TempDir(), "repo")
	s, err := storage.Open(context.Background(), "file://"+root, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "data/x/users.zst", strings.NewReader("pii")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{root: 0o700, filepath.Join(root, "data", "x"): 0o700, filepath.Join(root, "data", "x", "users.zst"): 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, u := range []string{dir, "file://" + dir} {
		if s, err := storage.Open(ctx, u, storage.Options{}); err != nil || s.String() != dir {
			t.Errorf("Open(%q) = %v, %v", u, s, err)
		}
	}
	for u, want := range map[string]string{
		"":                 "pass --repo",
		"ftp://host/x":     `unknown scheme "ftp"`,
		"s3:///prefix":     "no bucket",
		"file://host/path": "local path",
	} {
		if _, err := storage.Open(ctx, u, storage.Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q): %v, want an error saying %q", u, err, want)
		}
	}
}

func TestDirPermissionErrors(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	root := t.TempDir()
	if err := os.Chmod(root, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(root, 0o700)
	s, _ := storage.NewDir(root)
	err := s.Put(context.Background(), "x/y", strings.NewReader("z"))
	if !errors.Is(err, storage.ErrPermission) {
		t.Fatalf("read-only repository: %v", err)
	}
}

// A symbolic link in a directory repository that points out of it (a data
// link to another directory) is refused by every operation, naming the
// link, and nothing outside the repository is read, written or removed.
func TestDirRefusesALinkOutOfTheRepository(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "repo")
	s, err := storage.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "snapshots/a.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	for _, p := range []string{"x/users.zst", "x/.tmp-old"} {
		if err := os.MkdirAll(filepath.Join(elsewhere, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(elsewhere, p), []byte("outside"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(elsewhere, filepath.Join(root, "data")); err != nil {
		t.Fatal(err)
	}
	refused := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, storage.ErrLink) || !strings.Contains(err.Error(), "data in repository "+root) {
			t.Errorf("%s through a data link: %v; want storage.ErrLink naming data", op, err)
		}
	}
	_, err = s.Get(ctx, "data/x/users.zst")
	refused("get", err)
	_, err = s.Stat(ctx, "data/x/users.zst")
	refused("stat", err)
	refused("put", s.Put(ctx, "data/y/users.zst", strings.NewReader("pii")))
	refused("delete", s.Delete(ctx, "data/x/users.zst"))
	for _, prefix := range []string{"", "data/", "data/x/"} {
		var lerr error
		for _, err := range s.List(ctx, prefix) {
			if err != nil {
				lerr = err
			}
		}
		refused("list "+prefix, lerr)
	}
	if _, err := s.Sweep(ctx, "data/", time.Now().Add(time.Hour), false); err == nil {
		t.Error("sweep through a data link: no error")
	}
	// Listing another prefix is unaffected.
	for o, err := range s.List(ctx, "snapshots/") {
		if err != nil || o.Key != "snapshots/a.json" {
			t.Errorf("list snapshots/: %v %v", o, err)
		}
	}
	for _, p := range []string{"x/users.zst", "x/.tmp-old"} {
		if b, err := os.ReadFile(filepath.Join(elsewhere, p)); err != nil || string(b) != "outside" {
			t.Errorf("%s outside the repository: %q %v", p, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "y")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("put wrote outside the repository: %v", err)
	}
}

// BenchmarkDirPutGet measures a small object's create-once write and read,
// which opens the repository as an os.Root per operation.
func BenchmarkDirPutGet(b *testing.B) {
	ctx := context.Background()
	s, err := storage.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprintf("data/s/users-%06d.jsonl.zst", i)
		if err := s.Put(ctx, key, strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
		rc, err := s.Get(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, rc)
		rc.Close()
	}
}
