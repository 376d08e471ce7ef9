// Package s3fake serves an in-process S3 for tests: gofakes3 behind a thin
// wrapper that adds what real S3 does and gofakes3 v1.2.0 does not:
// If-None-Match: * on PutObject and CompleteMultipartUpload, atomically
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
// It records the server-side-encryption headers it saw.
package s3fake

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cogvault/cogvault/internal/storage"
)

// TB is the part of testing.TB the helpers need.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Server is a fake S3 endpoint.
type Server struct {
	URL     string
	backend *s3mem.Backend
	faker   http.Handler
	mu      sync.Mutex // serialises writes, making check-and-put atomic
	sse     atomic.Value
}

// New starts a fake S3 holding the named (empty) buckets; it stops when the
// test ends.
func New(tb TB, buckets ...string) *Server {
	tb.Helper()
	f := &Server{backend: s3mem.New()}
	f.faker = gofakes3.New(f.backend).Server()
	for _, b := range buckets {
		if err := f.backend.CreateBucket(b); err != nil {
			tb.Fatalf("fake s3: create bucket %s: %v", b, err)
		}
	}
	srv := httptest.NewServer(f)
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// SSE returns the last server-side-encryption headers seen, as
// "algorithm|key id".
func (f *Server) SSE() string { s, _ := f.sse.Load().(string); return s }

// ClientOptions point an S3 client at the fake (path-style addressing).
func (f *Server) ClientOptions() []func(*s3.Options) {
	return []func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.URL)
		o.UsePathStyle = true
	}}
}

// Store opens the repository URL s3://bucket/prefix on the fake.
func (f *Server) Store(tb TB, url string, opts storage.Options) storage.Store {
	tb.Helper()
	opts.AWS = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	opts.S3ClientOptions = append(opts.S3ClientOptions, f.ClientOptions()...)
	s, err := storage.Open(context.Background(), url, opts)
	if err != nil {
		tb.Fatalf("fake s3: open %s: %v", url, err)
	}
	return s
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := r.Header.Get("x-amz-server-side-encryption"); h != "" {
		f.sse.Store(h + "|" + r.Header.Get("x-amz-server-side-encryption-aws-kms-key-id"))
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		f.faker.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	isPut := r.Method == http.MethodPut && !r.URL.Query().Has("partNumber")
	isComplete := r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
	if (isPut || isComplete) && r.Header.Get("If-None-Match") == "*" {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
		if len(parts) == 2 {
			if _, err := f.backend.HeadObject(parts[0], parts[1]); err == nil {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusPreconditionFailed)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`)
				return
			}
		}
	}
	f.faker.ServeHTTP(w, r)
}
