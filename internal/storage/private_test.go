//go:build unix

package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cogvault/cogvault/internal/storage"
)

// WritePrivate leaves a file 0600 also when it existed with 0644, and
// refuses, naming the path, a symbolic link (dangling or not) and anything
// that is not a regular file, without touching what a link points to.
func TestWritePrivate(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("old and longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := storage.WritePrivate(existing, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(existing); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing file: mode %v after WritePrivate, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(existing); string(b) != "new" {
		t.Errorf("existing file holds %q", b)
	}
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link, dangling, fifo := filepath.Join(dir, "link"), filepath.Join(dir, "dangling"), filepath.Join(dir, "fifo")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, dangling} {
		if err := storage.WritePrivate(p, []byte("x")); !errors.Is(err, storage.ErrLink) || !strings.Contains(err.Error(), p) {
			t.Errorf("WritePrivate(%s): %v, want ErrLink naming it", p, err)
		}
		if err := storage.CheckPrivatePath(p); !errors.Is(err, storage.ErrLink) {
			t.Errorf("CheckPrivatePath(%s): %v, want ErrLink", p, err)
		}
	}
	if err := storage.WritePrivate(fifo, []byte("x")); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("WritePrivate(fifo): %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the link's target holds %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dangling link's target was created: %v", err)
	}
}
