package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/cogvault/cogvault/internal/awsx"
)

const defaultPartSize = 16 << 20

// S3API is the part of the S3 client the store uses.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	s3.ListObjectsV2APIClient
}

// S3 is a Store in an S3 bucket under a prefix.
type S3 struct {
	api      S3API
	bucket   string
	prefix   string // "" or ends with "/"
	kmsKey   string
	partSize int64
}

// NewS3 returns a store for s3://bucket/prefix.
func NewS3(api S3API, bucket, prefix string, opts Options) *S3 {
	if prefix != "" {
		prefix = strings.TrimSuffix(prefix, "/") + "/"
	}
	ps := opts.PartSize
	if ps <= 0 {
		ps = defaultPartSize
	}
	return &S3{api: api, bucket: bucket, prefix: prefix, kmsKey: opts.KMSKeyID, partSize: ps}
}

func (s *S3) String() string { return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/") }

func (s *S3) key(key string) (*string, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	return aws.String(s.prefix + key), nil
}

// Put sends small objects with one PutObject and large ones as a multipart
// upload, one part in memory at a time. Both carry If-None-Match: *, so S3
// refuses to overwrite an existing key; a multipart upload becomes visible
// only when it completes, so readers never see part of an object.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	k, err := s.key(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	buf := make([]byte, s.partSize)
	n, err := io.ReadFull(ctxReader{ctx, r}, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		in := &s3.PutObjectInput{Bucket: &s.bucket, Key: k, Body: bytes.NewReader(buf[:n]), IfNoneMatch: aws.String("*"), ContentLength: aws.Int64(int64(n))}
		s.sse(&in.ServerSideEncryption, &in.SSEKMSKeyId)
		var tries awsx.Attempts
		_, err := s.api.PutObject(ctx, in, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, tries.Middleware) })
		err = mapS3Err(err)
		if errors.Is(err, ErrExist) && tries.Retried() && s.holds(ctx, k, buf[:n]) {
			// The first attempt stored it and its answer was lost.
			return nil
		}
		if err != nil {
			return fmt.Errorf("put %s: %w", s.describe(key), err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return s.putMultipart(ctx, key, k, buf, r)
}

// holds reports whether the object at k has exactly content b.
func (s *S3) holds(ctx context.Context, k *string, b []byte) bool {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: k})
	if err != nil {
		return false
	}
	defer out.Body.Close()
	got, err := io.ReadAll(io.LimitReader(out.Body, int64(len(b))+1))
	return err == nil && bytes.Equal(got, b)
}

func (s *S3) sse(mode *types.ServerSideEncryption, keyID **string) {
	if s.kmsKey != "" {
		*mode = types.ServerSideEncryptionAwsKms
		*keyID = aws.String(s.kmsKey)
	}
}

func (s *S3) putMultipart(ctx context.Context, key string, k *string, first []byte, r io.Reader) (err error) {
	create := &s3.CreateMultipartUploadInput{Bucket: &s.bucket, Key: k}
	s.sse(&create.ServerSideEncryption, &create.SSEKMSKeyId)
	up, err := s.api.CreateMultipartUpload(ctx, create)
	if err != nil {
		return fmt.Errorf("put %s: start multipart upload: %w", s.describe(key), mapS3Err(err))
	}
	defer func() {
		if err != nil {
			// An unfinished upload is invisible but costs storage until aborted.
			abortCtx := context.WithoutCancel(ctx)
			_, _ = s.api.AbortMultipartUpload(abortCtx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: k, UploadId: up.UploadId})
		}
	}()
	var parts []types.CompletedPart
	buf, last := first, false
	for part := int32(1); ; part++ {
		out, err := s.api.UploadPart(ctx, &s3.UploadPartInput{Bucket: &s.bucket, Key: k, UploadId: up.UploadId,
			PartNumber: aws.Int32(part), Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf)))})
		if err != nil {
			return fmt.Errorf("put %s: upload part %d: %w", s.describe(key), part, mapS3Err(err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(part)})
		if last {
			break
		}
		n, rerr := io.ReadFull(ctxReader{ctx, r}, buf[:cap(buf)])
		if rerr == io.EOF {
			break
		}
		if rerr == io.ErrUnexpectedEOF {
			last = true // a short final part
		} else if rerr != nil {
			return fmt.Errorf("put %s: %w", key, rerr)
		}
		buf = buf[:n]
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	_, err = s.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &s.bucket, Key: k, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfNoneMatch: aws.String("*")})
	if err != nil {
		return fmt.Errorf("put %s: complete multipart upload: %w", s.describe(key), mapS3Err(err))
	}
	return nil
}

func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := s.key(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: k})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", s.describe(key), mapS3Err(err))
	}
	return out.Body, nil
}

func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	k, err := s.key(key)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	out, err := s.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: k})
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w", s.describe(key), mapS3Err(err))
	}
	return ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	k, err := s.key(key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if _, err := s.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: k}); err != nil {
		if errors.Is(mapS3Err(err), ErrNotExist) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", s.describe(key), mapS3Err(err))
	}
	return nil
}

// List pages through ListObjectsV2, which returns keys in UTF-8 binary order.
func (s *S3) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(ObjectInfo{}, fmt.Errorf("list %s: %w", s, mapS3Err(err)))
				return
			}
			for _, o := range page.Contents {
				info := ObjectInfo{Key: strings.TrimPrefix(aws.ToString(o.Key), s.prefix), Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

func (s *S3) describe(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

func mapS3Err(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode() {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w: %w", ErrNotExist, err)
	case "NoSuchBucket":
		return fmt.Errorf("%w: the bucket does not exist: %w", ErrNotExist, err)
	case "PreconditionFailed", "ConditionalRequestConflict":
		return fmt.Errorf("%w: %w", ErrExist, err)
	case "AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch":
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}
