package storage_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cogvault/cogvault/internal/storage"
	"github.com/cogvault/cogvault/internal/storage/storagetest"
)

// fakeS3 is gofakes3 in-process behind a thin wrapper that adds what real S3
// does and gofakes3 v1.2.0 does not: If-None-Match: * on
// CompleteMultipartUpload, and atomic check-and-put under concurrency
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
// It also records the SSE headers it saw.
type fakeS3 struct {
	backend *s3mem.Backend
	faker   http.Handler
	mu      sync.Mutex // serialises writes, making check-and-put atomic
	sse     atomic.Value
}

func newFakeS3(t *testing.T) (*fakeS3, *httptest.Server) {
	f := &fakeS3{backend: s3mem.New()}
	f.faker = gofakes3.New(f.backend).Server()
	if err := f.backend.CreateBucket("repo"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := r.Header.Get("x-amz-server-side-encryption"); h != "" {
		f.sse.Store(h + "|" + r.Header.Get("x-amz-server-side-encryption-aws-kms-key-id"))
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		f.faker.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") && r.Header.Get("If-None-Match") == "*" {
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

func s3Store(t *testing.T, srv *httptest.Server, prefix string, opts storage.Options) storage.Store {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	opts.AWS = cfg
	opts.S3ClientOptions = append(opts.S3ClientOptions, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
	})
	s, err := storage.Open(context.Background(), "s3://repo/"+prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Conformance(t *testing.T) {
	_, srv := newFakeS3(t)
	n := 0
	storagetest.Run(t, func(t *testing.T) storage.Store {
		n++
		// A fresh prefix per case: the bucket is shared.
		return s3Store(t, srv, fmt.Sprintf("case%d/repo", n), storage.Options{PartSize: 5 << 20})
	}, storagetest.Options{LargeSize: 12 << 20})
}

func TestS3UsesSSEKMSWhenAsked(t *testing.T) {
	f, srv := newFakeS3(t)
	s := s3Store(t, srv, "kms", storage.Options{KMSKeyID: "alias/cogvault"})
	if err := s.Put(context.Background(), "x", strings.NewReader("secret")); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.sse.Load().(string); got != "aws:kms|alias/cogvault" {
		t.Fatalf("SSE headers seen: %q", got)
	}
}

func TestS3MissingBucket(t *testing.T) {
	_, srv := newFakeS3(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	s, _ := storage.Open(context.Background(), "s3://nosuchbucket/p", storage.Options{AWS: cfg, S3ClientOptions: []func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.UsePathStyle = true
	}}})
	err := s.Put(context.Background(), "x", strings.NewReader("y"))
	if err == nil || !strings.Contains(err.Error(), "s3://nosuchbucket/p/x") {
		t.Fatalf("missing bucket: %v", err)
	}
}
