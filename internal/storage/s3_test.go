package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cogvault/cogvault/internal/storage"
	"github.com/cogvault/cogvault/internal/storage/s3fake"
	"github.com/cogvault/cogvault/internal/storage/storagetest"
)

func s3Store(t *testing.T, f *s3fake.Server, prefix string, opts storage.Options) storage.Store {
	t.Helper()
	return f.Store(t, "s3://repo/"+prefix, opts)
}

func TestS3Conformance(t *testing.T) {
	srv := s3fake.New(t, "repo")
	n := 0
	storagetest.Run(t, func(t *testing.T) storage.Store {
		n++
		// A fresh prefix per case: the bucket is shared.
		return s3Store(t, srv, fmt.Sprintf("case%d/repo", n), storage.Options{PartSize: 5 << 20})
	}, storagetest.Options{LargeSize: 12 << 20})
}

func TestS3UsesSSEKMSWhenAsked(t *testing.T) {
	f := s3fake.New(t, "repo")
	s := s3Store(t, f, "kms", storage.Options{KMSKeyID: "alias/cogvault"})
	if err := s.Put(context.Background(), "x", strings.NewReader("secret")); err != nil {
		t.Fatal(err)
	}
	if got := f.SSE(); got != "aws:kms|alias/cogvault" {
		t.Fatalf("SSE headers seen: %q", got)
	}
}

func TestS3MissingBucket(t *testing.T) {
	srv := s3fake.New(t, "repo")
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	s, _ := storage.Open(context.Background(), "s3://nosuchbucket/p", storage.Options{AWS: cfg, S3ClientOptions: srv.ClientOptions()})
	err := s.Put(context.Background(), "x", strings.NewReader("y"))
	if err == nil || !strings.Contains(err.Error(), "s3://nosuchbucket/p/x") {
		t.Fatalf("missing bucket: %v", err)
	}
}
