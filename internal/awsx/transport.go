package awsx

import (
	"bytes"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// maxBuffered bounds the request bodies bufferBodies copies: Cognito's are a
// few KB; large S3 uploads stream untouched.
const maxBuffered = 1 << 20

// bufferBodies gives the transport its own copy of small request bodies.
//
// Why: net/http's transport, after sending ContentLength bytes, reads the
// body once more to check for extra data, and it may do so after the
// response headers arrived. smithy-go closes the request body as soon as Do
// returns; if that close wins the race, the extra read fails, the transport
// closes the connection, and the response body being read fails with "use of
// closed network connection" (aws/aws-sdk-go-v2#2737). Against a fast
// endpoint this happened every few hundred calls. A private copy cannot be
// closed under the transport.
type bufferBodies struct {
	next aws.HTTPClient
}

func (b bufferBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength < 0 || req.ContentLength > maxBuffered {
		return b.next.Do(req)
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, req.ContentLength))
	if err != nil {
		return nil, err
	}
	clone := req.Clone(req.Context())
	clone.Body = io.NopCloser(bytes.NewReader(data))
	clone.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return b.next.Do(clone)
}

// BufferBodies wraps an SDK HTTP client so that small request bodies are
// copied before they are sent (see bufferBodies). LoadConfig applies it;
// clients built by hand (tests, tools) can too.
func BufferBodies(c aws.HTTPClient) aws.HTTPClient { return bufferBodies{next: c} }
