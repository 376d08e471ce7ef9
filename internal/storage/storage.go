// Package storage holds repository objects: a small Store interface with a
// local-directory and an S3 implementation, chosen by URL. Writes are
// create-once and atomic: an object is either absent or complete, never
// partial, and never overwritten. storagetest is the conformance suite every
// Store passes.
//
// It imports the AWS SDK's S3 client; it must not import snapshot, cli,
// progress or cobra.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Errors a caller can test for with errors.Is, whatever the store.
var (
	ErrExist      = errors.New("object already exists")
	ErrNotExist   = errors.New("object does not exist")
	ErrPermission = errors.New("permission denied")
	// ErrNoRepository means a repository opened with MustExist is not there.
	ErrNoRepository = errors.New("repository does not exist")
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is a flat namespace of immutable objects under slash-separated keys.
type Store interface {
	// Put stores r's bytes under key, once: ErrExist if key is taken. If r
	// fails or ctx ends, nothing is stored.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens an object; ErrNotExist if it is absent.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes an object; ErrNotExist if it is absent.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List yields the objects whose keys start with prefix, in key order.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Delete removes an object; deleting an absent object is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for messages (its URL).
	String() string
}

// Options configures Open.
type Options struct {
	// AWS is the SDK configuration for s3:// repositories (see internal/awsx).
	AWS aws.Config
	// KMSKeyID makes S3 objects use SSE-KMS with this key.
	KMSKeyID string
	// S3ClientOptions adjust the S3 client (tests: path-style addressing).
	S3ClientOptions []func(*s3.Options)
	// MustExist makes a local repository that does not exist an error
	// (ErrNotExist) instead of creating it: readers must not leave empty
	// directories behind a typo.
	MustExist bool
	// PartSize is the multipart part size for S3 (default 16 MiB); objects
	// smaller than one part are written with a single PutObject.
	PartSize int64
}

// Open returns the store a repository URL names: a plain path or file://PATH
// for a local directory, s3://BUCKET[/PREFIX] for S3.
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	if rawURL == "" {
		return nil, errors.New("no repository given: pass --repo (a path, file://PATH or s3://BUCKET/PREFIX) or set COGVAULT_REPO")
	}
	if !strings.Contains(rawURL, "://") {
		return openDir(rawURL, rawURL, opts)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("repository %q: file URLs name a local path (file:///abs/path or file://./rel)", rawURL)
		}
		return openDir(rawURL, u.Path, opts)
	case "s3":
		if u.Host == "" {
			return nil, fmt.Errorf("repository %q: no bucket; want s3://BUCKET/PREFIX", rawURL)
		}
		return NewS3(s3.NewFromConfig(opts.AWS, opts.S3ClientOptions...), u.Host, strings.Trim(u.Path, "/"), opts), nil
	}
	return nil, fmt.Errorf("repository %q: unknown scheme %q; use a path, file://PATH or s3://BUCKET/PREFIX", rawURL, u.Scheme)
}

func openDir(rawURL, path string, opts Options) (Store, error) {
	if opts.MustExist && path != "" {
		fi, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s: check --repo (backup creates a repository; other commands only read one)", ErrNoRepository, rawURL)
		}
		if err == nil && !fi.IsDir() {
			return nil, fmt.Errorf("repository %s is not a directory", rawURL)
		}
	}
	return NewDir(path)
}

// CheckKey rejects keys that could escape the repository or mean different
// things on different stores.
func CheckKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty object key")
	case strings.HasPrefix(key, "/"):
		return fmt.Errorf("object key %q is absolute", key)
	case strings.ContainsAny(key, "\\\x00"):
		return fmt.Errorf("object key %q contains a backslash or NUL", key)
	case strings.HasSuffix(key, "/"):
		return fmt.Errorf("object key %q ends with a slash", key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("object key %q has an empty, . or .. element", key)
		}
	}
	return nil
}

// ctxReader fails reads once ctx ends, so a long copy stops promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
