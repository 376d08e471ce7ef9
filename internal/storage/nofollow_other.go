//go:build !unix

package storage

// noFollow is 0 where the platform has no O_NOFOLLOW: OpenPrivate's Lstat
// check still refuses a link that exists before the open.
const noFollow = 0
