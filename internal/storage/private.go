package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrLink is returned for a symbolic link where cogvault writes a side file
// or reads a repository: following it could write personal data, or read
// objects, somewhere the user did not choose.
var ErrLink = errors.New("is a symbolic link, which cogvault does not follow")

// OpenPrivate opens a file cogvault writes for the user (restore state, sub
// mapping, id map) with flag (which should include os.O_CREATE). It refuses
// a symbolic link or anything but a regular file, naming path, and leaves
// the file mode 0600 even when it already existed with a wider mode:
// these files pair usernames with identifiers.
func OpenPrivate(path string, flag int) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil {
		if err := checkRegular(path, fi); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// O_NOFOLLOW closes the gap between the Lstat and the open.
	f, err := os.OpenFile(path, flag|noFollow, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s %w: remove it or give another path", path, ErrLink)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkRegular(path, fi)
	}
	if err == nil && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600) // an existing file keeps its mode through open
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckPrivatePath refuses, naming it, a path OpenPrivate would refuse
// when it exists: a caller checks its side files before its first write.
func CheckPrivatePath(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return checkRegular(path, fi)
}

func checkRegular(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s %w: remove it or give another path", path, ErrLink)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%v): give another path", path, fi.Mode().Type())
	}
	return nil
}

// WritePrivate writes b to path as OpenPrivate opens it, replacing what the
// file held.
func WritePrivate(path string, b []byte) error {
	f, err := OpenPrivate(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
