package faulttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

// fakeS3 is gofakes3 in-process, made to do what real S3 does and gofakes3
// v1.2.0 does not (as internal/storage's tests do): If-None-Match: * on
// CompleteMultipartUpload, and check-and-put that is atomic under
// concurrency.
type fakeS3 struct {
	backend *s3mem.Backend
	faker   http.Handler
	mu      sync.Mutex // serialises writes
}

func newFakeS3(t tb, bucket string) *fakeS3 {
	f := &fakeS3{backend: s3mem.New()}
	f.faker = gofakes3.New(f.backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	if err := f.backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

// s3Faults sits in front of the S3 fake. While on, it answers 500
// InternalError to every every500-th request and drops the connection of
// every everyReset-th (both before S3 sees the request), and it loses the
// answer to the first successful PUT of a key containing loseKey after S3
// stored the object.
type s3Faults struct {
	next                 http.Handler
	every500, everyReset int
	loseKey              string

	mu                sync.Mutex
	on                bool
	n, errors, resets int
	lostKeys          []string
}

func (f *s3Faults) set(on bool) {
	f.mu.Lock()
	f.on = on
	f.mu.Unlock()
}

func (f *s3Faults) counts() (errors, resets, lost int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errors, f.resets, len(f.lostKeys)
}

func (f *s3Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	on := f.on
	var fail500, reset bool
	if on {
		f.n++
		switch {
		case f.every500 > 0 && f.n%f.every500 == 0:
			fail500 = true
			f.errors++
		case f.everyReset > 0 && f.n%f.everyReset == 0:
			reset = true
			f.resets++
		}
	}
	lose := on && f.loseKey != "" && len(f.lostKeys) == 0 && r.Method == http.MethodPut && strings.Contains(r.URL.Path, f.loseKey)
	f.mu.Unlock()
	switch {
	case fail500:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>`)
		return
	case reset:
		dropConnection(w)
		return
	case lose:
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		if rec.Code == http.StatusOK {
			f.mu.Lock()
			f.lostKeys = append(f.lostKeys, r.URL.Path)
			f.mu.Unlock()
			dropConnection(w)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	f.next.ServeHTTP(w, r)
}

// s3Setup serves the fake Cognito, and the faulty S3 fake as bucket (a
// name of the case's own) on the shared S3 endpoint. It returns the
// repository URL and the Cognito endpoint for --endpoint-url.
func s3Setup(t tb, faults *s3Faults, bucket string) (res cognitotest.PopulateResult, repo, endpoint string) {
	users, groups := faultPool()
	srv, res := newFake(t, users, groups)
	faults.next = newFakeS3(t, bucket)
	routeS3(t, bucket, faults)
	return res, "s3://" + bucket + "/cogvault", srv.URL
}

// s3Router serves the S3 cases' buckets on one endpoint, which the
// in-process CLI finds through AWS_ENDPOINT_URL_S3 (--endpoint-url is
// Cognito's alone, as in the AWS CLI). One endpoint, because the cases run
// side by side and the environment belongs to the process. It is never
// closed: it lives as long as the test process.
var s3Router struct {
	once    sync.Once
	mu      sync.Mutex
	buckets map[string]http.Handler
}

func routeS3(t tb, bucket string, h http.Handler) {
	s3Router.once.Do(func() {
		s3Router.buckets = map[string]http.Handler{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
			s3Router.mu.Lock()
			next := s3Router.buckets[b]
			s3Router.mu.Unlock()
			if next == nil {
				http.Error(w, "no such bucket", http.StatusNotFound)
				return
			}
			next.ServeHTTP(w, r)
		}))
		os.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	})
	s3Router.mu.Lock()
	s3Router.buckets[bucket] = h
	s3Router.mu.Unlock()
	t.Cleanup(func() {
		s3Router.mu.Lock()
		delete(s3Router.buckets, bucket)
		s3Router.mu.Unlock()
	})
}

// s3Snapshots lists the snapshots of the S3 repository.
func s3Snapshots(t tb, s3Repo string, g []string) []string {
	t.Helper()
	r := runCLI(append([]string{"snapshots", "--repo", s3Repo, "--output", "json"}, g...)...)
	if r.Code != 0 {
		t.Fatalf("snapshots:\n%s", r)
	}
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &list); err != nil {
		t.Fatalf("snapshots output: %v\n%s", err, r)
	}
	var ids []string
	for _, m := range list {
		ids = append(ids, m.ID)
	}
	return ids
}

func s3Cases() []bgCase {
	return []bgCase{
		{"S3: 500 InternalError on every 5th S3 request, reset on every 7th", func(t tb, sc *scenario) {
			faults := &s3Faults{every500: 5, everyReset: 7}
			res, s3Repo, endpoint := s3Setup(t, faults, "repo-faults")
			g := global(endpoint, faultClientScale)
			faults.set(true)
			r := runCLI(append([]string{"backup", "--pool", res.PoolID, "--repo", s3Repo, "--chunk-records", "50", "--output", "json"}, g...)...)
			ids := s3Snapshots(t, s3Repo, g) // the faults stay on: listing survives them too
			switch {
			case r.Code == 0 && len(ids) == 1:
			case r.Code != 0 && len(ids) == 0:
				e, rs, _ := faults.counts()
				sc.Injected = e + rs
				sc.Detail = "backup failed and left no snapshot: " + firstLines(r.Stderr, 1)
				return
			default:
				t.Fatalf("backup exit %d left %d snapshot(s):\n%s", r.Code, len(ids), r)
			}
			if v := runCLI(append([]string{"verify", "--repo", s3Repo, ids[0]}, g...)...); v.Code != 0 {
				t.Fatalf("verify (faults on):\n%s", v)
			}
			faults.set(false)
			e, rs, _ := faults.counts()
			sc.Injected = e + rs
			checkBackup(t, r, s3Repo, g, res)
			sc.Survived = sc.Injected
			sc.Detail = fmt.Sprintf("%d 500s and %d resets during backup, snapshots and verify; backup complete, verified, no difference with the live pool", e, rs)
		}},
		{"S3: response to a data object's PUT lost after S3 stored it", func(t tb, sc *scenario) {
			lostPut(t, sc, "/data/", "repo-lost-data")
		}},
		{"S3: response to the manifest's PUT lost after S3 stored it", func(t tb, sc *scenario) {
			lostPut(t, sc, "/snapshots/", "repo-lost-manifest")
		}},
	}
}

// lostPut loses the answer to one PUT whose key contains key, after S3
// stored the object, and checks that the backup is complete or absent;
// then whether it completed.
func lostPut(t tb, sc *scenario, key, bucket string) {
	faults := &s3Faults{loseKey: key}
	res, s3Repo, endpoint := s3Setup(t, faults, bucket)
	g := global(endpoint, faultClientScale)
	faults.set(true)
	r := runCLI(append([]string{"backup", "--pool", res.PoolID, "--repo", s3Repo, "--chunk-records", "50", "--output", "json"}, g...)...)
	faults.set(false)
	_, _, lost := faults.counts()
	sc.Injected = lost
	if lost != 1 {
		t.Fatalf("%d responses lost, want 1", lost)
	}
	ids := s3Snapshots(t, s3Repo, g)
	var damaged []string
	for _, id := range ids {
		if v := runCLI(append([]string{"verify", "--repo", s3Repo, id}, g...)...); v.Code != 0 {
			damaged = append(damaged, firstLines(v.Stdout, 3))
		}
	}
	if len(damaged) > 0 {
		t.Fatalf("backup exit %d left damaged snapshot(s): %v\n%s", r.Code, damaged, r)
	}
	switch {
	case r.Code == 0 && len(ids) == 1:
		checkBackup(t, r, s3Repo, g, res)
		sc.Survived = lost
		sc.Detail = "backup complete, verified, no difference with the live pool"
	case r.Code != 0 && len(ids) == 0:
		sc.Detail = "backup failed and left no snapshot (complete or absent holds)"
		t.Fatalf("backup failed after one lost PUT answer:\n%s", r)
	default:
		t.Fatalf("backup exit %d left %d snapshot(s):\n%s", r.Code, len(ids), r)
	}
}
