package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
