// Package sqstest is a small fake Amazon SQS for tests: the AWS JSON 1.0
// protocol the SDK speaks (POST /, X-Amz-Target: AmazonSQS.<Operation>,
// Content-Type application/x-amz-json-1.0), for GetQueueUrl, SendMessage,
// ReceiveMessage and DeleteMessage on standard queues. Sources: the SQS API
// reference for each operation, and the SDK's service model
// (aws-sdk-go-v2/service/sqs schemas: the awsJson1_0 protocol with
// awsQueryCompatible error codes, QueueDoesNotExist as HTTP 400 with query
// code AWS.SimpleQueueService.NonExistentQueue, ReceiptHandleIsInvalid as
// HTTP 404). The SDK checks MD5OfBody on receive, so the fake sends it.
package sqstest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running fake.
type Server struct {
	URL string

	mu     sync.Mutex
	queues map[string]*queue
	seq    int
	now    func() time.Time
}

type queue struct {
	msgs []*message
}

type message struct {
	id, body, receipt string
	invisibleUntil    time.Time
	receives          int
}

// New starts a fake with the named standard queues; it stops with the test.
func New(t testing.TB, names ...string) *Server {
	s := &Server{queues: map[string]*queue{}, now: time.Now}
	for _, n := range names {
		s.queues[n] = &queue{}
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// QueueURL is the URL GetQueueUrl answers for a queue name.
func (s *Server) QueueURL(name string) string { return s.URL + "/123456789012/" + name }

// Bodies returns the bodies of the messages still in the queue.
func (s *Server) Bodies(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.queues[name].msgs {
		out = append(out, m.body)
	}
	return out
}

type apiError struct {
	status      int
	typ, query  string
	fault, text string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	var in map[string]any
	if !ok || r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil {
		writeError(w, &apiError{400, "InvalidAction", "InvalidAction", "Sender", "not an AmazonSQS JSON request"})
		return
	}
	s.mu.Lock()
	out, aerr := s.call(op, in)
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("req-%d", s.seq))
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", e.query+";"+e.fault)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.typ, "message": e.text})
}

func (s *Server) call(op string, in map[string]any) (any, *apiError) {
	if op == "GetQueueUrl" {
		name, _ := in["QueueName"].(string)
		if s.queues[name] == nil {
			return nil, noQueue()
		}
		return map[string]string{"QueueUrl": s.QueueURL(name)}, nil
	}
	url, _ := in["QueueUrl"].(string)
	name := url[strings.LastIndex(url, "/")+1:]
	q := s.queues[name]
	if q == nil || url != s.QueueURL(name) {
		return nil, noQueue()
	}
	switch op {
	case "SendMessage":
		body, _ := in["MessageBody"].(string)
		s.seq++
		m := &message{id: fmt.Sprintf("m-%d", s.seq), body: body}
		q.msgs = append(q.msgs, m)
		return map[string]string{"MessageId": m.id, "MD5OfMessageBody": md5hex(body)}, nil
	case "ReceiveMessage":
		return s.receive(q, in)
	case "DeleteMessage":
		handle, _ := in["ReceiptHandle"].(string)
		for i, m := range q.msgs {
			if handle != "" && m.receipt == handle {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
				return map[string]any{}, nil
			}
		}
		return nil, &apiError{404, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "Sender", "The input receipt handle is invalid."}
	}
	return nil, &apiError{400, "InvalidAction", "InvalidAction", "Sender", "unsupported operation " + op}
}

// receive returns up to MaxNumberOfMessages (1 to 10, default 1) visible
// messages and hides them for VisibilityTimeout seconds (default 30).
func (s *Server) receive(q *queue, in map[string]any) (any, *apiError) {
	max, vis := 1, 30
	if v, ok := in["MaxNumberOfMessages"].(float64); ok {
		max = int(v)
	}
	if v, ok := in["VisibilityTimeout"].(float64); ok {
		vis = int(v)
	}
	if max < 1 || max > 10 {
		return nil, &apiError{400, "InvalidParameterValue", "InvalidParameterValue", "Sender", "MaxNumberOfMessages must be between 1 and 10"}
	}
	now := s.now()
	msgs := []map[string]string{}
	for _, m := range q.msgs {
		if len(msgs) == max {
			break
		}
		if now.Before(m.invisibleUntil) {
			continue
		}
		s.seq++
		m.receives++
		m.receipt = fmt.Sprintf("rh-%s-%d", m.id, s.seq)
		m.invisibleUntil = now.Add(time.Duration(vis) * time.Second)
		msgs = append(msgs, map[string]string{"MessageId": m.id, "ReceiptHandle": m.receipt, "MD5OfBody": md5hex(m.body), "Body": m.body})
	}
	return map[string]any{"Messages": msgs}, nil
}

// Expire makes every received message visible again, as when its
// visibility timeout passes.
func (s *Server) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range s.queues {
		for _, m := range q.msgs {
			m.invisibleUntil = time.Time{}
		}
	}
}

func noQueue() *apiError {
	return &apiError{400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "Sender", "The specified queue does not exist."}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
