//go:build unix

package storage

import "syscall"

// noFollow makes an open fail on a symbolic link in the last element.
const noFollow = syscall.O_NOFOLLOW
