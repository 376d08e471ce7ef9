package snapshot_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"pgregory.net/rapid"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// memSink collects chunks in memory, like a store would.
type memSink struct {
	objects map[string][]byte
	order   []string
}

type memObj struct {
	buf  bytes.Buffer
	name string
	s    *memSink
}

func (o *memObj) Write(p []byte) (int, error) { return o.buf.Write(p) }
func (o *memObj) Close() error {
	o.s.objects[o.name] = o.buf.Bytes()
	o.s.order = append(o.s.order, o.name)
	return nil
}

func newSink() *memSink { return &memSink{objects: map[string][]byte{}} }

func (s *memSink) create(name string) (io.WriteCloser, error) {
	return &memObj{name: name, s: s}, nil
}

func genUser(t *rapid.T, i int) snapshot.User {
	str := rapid.String()
	u := snapshot.User{
		Username: fmt.Sprintf("u%d-%s", i, rapid.StringN(0, 10, -1).Draw(t, "name")),
		Sub:      fmt.Sprintf("%08x-0000-4000-8000-000000000000", i),
		Enabled:  rapid.Bool().Draw(t, "enabled"),
		Status:   rapid.SampledFrom([]string{"CONFIRMED", "UNCONFIRMED", "EXTERNAL_PROVIDER"}).Draw(t, "status"),
		Created:  time.UnixMilli(rapid.Int64Range(0, 4e12).Draw(t, "created")).UTC(),
	}
	u.Modified = u.Created
	for j := range rapid.IntRange(0, 6).Draw(t, "nattrs") {
		u.Attributes = append(u.Attributes, snapshot.Attribute{Name: fmt.Sprintf("custom:a%d", j), Value: str.Draw(t, "value")})
	}
	if rapid.Bool().Draw(t, "mfa") {
		u.MFA = &snapshot.MFASettings{PreferredMfaSetting: "SMS_MFA", UserMFASettingList: []string{"SMS_MFA"}}
	}
	return u
}

func TestChunksRoundTripAnyRecords(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(rt, "n")
		per := rapid.IntRange(1, 7).Draw(rt, "perChunk")
		var users []snapshot.User
		for i := range n {
			users = append(users, genUser(rt, i))
		}
		sink := newSink()
		w := snapshot.NewChunkWriter(snapshot.ChunkWriterOptions{Kind: snapshot.KindUsers, MaxRecords: per, Create: sink.create})
		for _, u := range users {
			if err := w.Write(u); err != nil {
				rt.Fatal(err)
			}
		}
		objs, err := w.Close()
		if err != nil {
			rt.Fatal(err)
		}
		if want := (n + per - 1) / per; len(objs) != want {
			rt.Fatalf("%d chunks for %d records at %d per chunk, want %d", len(objs), n, per, want)
		}
		var got []snapshot.User
		var records int64
		for _, o := range objs {
			data := sink.objects[o.Name]
			sum := sha256.Sum256(data)
			if o.Size != int64(len(data)) || o.SHA256 != hex.EncodeToString(sum[:]) {
				rt.Fatalf("%s: ObjectInfo does not describe the stored bytes", o.Name)
			}
			records += o.Records
			vr := snapshot.NewVerifyingReader(bytes.NewReader(data), o.Name, o)
			for u, err := range snapshot.Read[snapshot.User](vr, o.Name, snapshot.KindUsers) {
				if err != nil {
					rt.Fatal(err)
				}
				got = append(got, u)
			}
			if err := vr.Drain(); err != nil {
				rt.Fatal(err)
			}
		}
		if records != int64(n) {
			rt.Fatalf("ObjectInfo records sum to %d, wrote %d", records, n)
		}
		if diff := cmp.Diff(users, got); diff != "" {
			rt.Fatalf("round trip changed records (-want +got):\n%s", diff)
		}
	})
}

func writeUsers(t *testing.T, n int) (*memSink, []snapshot.ObjectInfo) {
	t.Helper()
	sink := newSink()
	w := snapshot.NewChunkWriter(snapshot.ChunkWriterOptions{Kind: snapshot.KindUsers, MaxRecords: 100, Create: sink.create})
	for i := range n {
		if err := w.Write(snapshot.User{Username: fmt.Sprint("user", i), Sub: fmt.Sprint("sub", i), Status: "CONFIRMED",
			Attributes: []snapshot.Attribute{{Name: "email", Value: fmt.Sprintf("u%d@example.com", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return sink, objs
}

func readAll(data []byte, o snapshot.ObjectInfo) error {
	vr := snapshot.NewVerifyingReader(bytes.NewReader(data), "data/x/"+o.Name, o)
	for _, err := range snapshot.Read[snapshot.User](vr, "data/x/"+o.Name, snapshot.KindUsers) {
		if err != nil {
			return err
		}
	}
	return vr.Drain()
}

func TestDamagedChunksAreReportedByName(t *testing.T) {
	sink, objs := writeUsers(t, 250)
	o := objs[1]
	data := sink.objects[o.Name]
	if err := readAll(data, o); err != nil {
		t.Fatalf("intact chunk: %v", err)
	}
	for i := 0; i < len(data); i += max(1, len(data)/50) {
		bad := bytes.Clone(data)
		bad[i] ^= 0x40
		err := readAll(bad, o)
		if err == nil || !strings.Contains(err.Error(), "data/x/"+o.Name) {
			t.Fatalf("flipped byte %d of %d: got %v, want an error naming the chunk", i, len(data), err)
		}
	}
	for _, cut := range []int{0, 1, len(data) / 2, len(data) - 1} {
		err := readAll(data[:cut], o)
		if !errors.Is(err, snapshot.ErrDamaged) && !errors.Is(err, snapshot.ErrFormat) {
			t.Fatalf("truncated to %d bytes: %v", cut, err)
		}
	}
}

func zstdOf(t *testing.T, s string) []byte {
	t.Helper()
	enc, _ := zstd.NewWriter(nil)
	return enc.EncodeAll([]byte(s), nil)
}

func TestChunkReaderRejectsBadHeadersAndLines(t *testing.T) {
	cases := map[string]struct{ data, want string }{
		"newer version":  {`{"format":"cogvault-chunk","version":2,"kind":"users"}` + "\n", "format version 2 is newer than this cogvault understands (1); upgrade cogvault"},
		"other kind":     {`{"format":"cogvault-chunk","version":1,"kind":"members"}` + "\n", `holds "members" records, want "users"`},
		"not a chunk":    {`{"hello":1}` + "\n", "not a cogvault chunk"},
		"empty":          {"", "empty chunk"},
		"bad json line":  {`{"format":"cogvault-chunk","version":1,"kind":"users"}` + "\n{nope\n", "line 2"},
		"no end of line": {`{"format":"cogvault-chunk","version":1,"kind":"users"}` + "\n" + `{"username":"a"}`, "truncated"},
		"missing sub":    {`{"format":"cogvault-chunk","version":1,"kind":"users"}` + "\n" + `{"username":"a","status":"CONFIRMED"}` + "\n", `user "a" without sub`},
		"missing name":   {`{"format":"cogvault-chunk","version":1,"kind":"users"}` + "\n" + `{"sub":"s","status":"CONFIRMED"}` + "\n", "without username"},
		"wrong type":     {`{"format":"cogvault-chunk","version":1,"kind":"users"}` + "\n" + `{"username":7}` + "\n", "record 1"},
		// encoding/json would read \xff as U+FFFD: a changed value, so damage.
		"non-utf8": {`{"format":"cogvault-chunk","version":1,"kind":"users"}` + "\n" + "{\"username\":\"\xff\",\"sub\":\"s\",\"status\":\"X\"}\n", "record 1: invalid snapshot data: not valid UTF-8"},
	}
	for name, tc := range cases {
		var err error
		for _, e := range snapshot.Read[snapshot.User](bytes.NewReader(zstdOf(t, tc.data)), "c.zst", snapshot.KindUsers) {
			if e != nil {
				err = e
			}
		}
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "c.zst") {
			t.Errorf("%s: got %v, want an error naming c.zst and saying %q", name, err, tc.want)
		}
	}
	var err error
	for _, e := range snapshot.ReadChunk(strings.NewReader("definitely not zstd"), "x.zst", snapshot.KindUsers) {
		err = e
	}
	if !errors.Is(err, snapshot.ErrFormat) {
		t.Fatalf("garbage: %v", err)
	}
}

func FuzzChunkReader(f *testing.F) {
	enc, _ := zstd.NewWriter(nil)
	f.Add(enc.EncodeAll([]byte(`{"format":"cogvault-chunk","version":1,"kind":"users"}`+"\n"+`{"username":"a","sub":"b","status":"C"}`+"\n"), nil))
	f.Add([]byte("garbage"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, err := range snapshot.Read[snapshot.User](bytes.NewReader(data), "f", snapshot.KindUsers) {
			if err != nil {
				return
			}
		}
	})
}

func validManifest(t *testing.T) *snapshot.Manifest {
	t.Helper()
	_, objs := writeUsers(t, 150)
	id, _ := snapshot.NewID(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), strings.NewReader("abcd"))
	sum := strings.Repeat("a", 64)
	m := &snapshot.Manifest{FormatVersion: 1, ID: id, PoolID: "us-east-1_abc", Start: time.Unix(100, 0), End: time.Unix(200, 0),
		ToolVersion: "test", Counts: snapshot.Counts{Users: 150}}
	m.Objects = append([]snapshot.ObjectInfo{{Name: snapshot.PoolObjectName, Kind: snapshot.KindPool, SHA256: sum, PlainSHA256: sum, Records: 1}}, objs...)
	return m
}

func TestManifestRoundTripAndValidation(t *testing.T) {
	m := validManifest(t)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.ParseManifest(b, "snapshots/x.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Fatalf("manifest round trip (-want +got):\n%s", diff)
	}
	lie := *m
	lie.Counts.Users = 151
	if _, err := lie.Marshal(); err == nil || !strings.Contains(err.Error(), "counts 151 users but its objects hold 150") {
		t.Fatalf("lying count: %v", err)
	}
	for name, mutate := range map[string]func(s string) string{
		"newer":     func(s string) string { return strings.Replace(s, `"formatVersion": 1`, `"formatVersion": 9`, 1) },
		"no pool":   func(s string) string { return strings.Replace(s, `"poolId": "us-east-1_abc"`, `"poolId": ""`, 1) },
		"bad id":    func(s string) string { return strings.Replace(s, `"id": "2026`, `"id": "x2026`, 1) },
		"truncated": func(s string) string { return s[:len(s)/2] },
	} {
		_, err := snapshot.ParseManifest([]byte(mutate(string(b))), "snapshots/x.json")
		if err == nil || !strings.HasPrefix(err.Error(), "snapshots/x.json") {
			t.Errorf("%s: got %v, want an error naming the manifest", name, err)
		}
	}
}

func TestIDsSortByTime(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		a := time.UnixMilli(rapid.Int64Range(0, 7e12).Draw(rt, "a"))
		b := time.UnixMilli(rapid.Int64Range(0, 7e12).Draw(rt, "b"))
		ida, _ := snapshot.NewID(a, rand.NewChaCha8([32]byte{1}))
		idb, _ := snapshot.NewID(b, rand.NewChaCha8([32]byte{2}))
		if a.Before(b) != (ida < idb) && !a.Equal(b) {
			rt.Fatalf("ids %s, %s do not sort like %v, %v", ida, idb, a, b)
		}
		got, err := snapshot.ParseID(ida)
		if err != nil || !got.Equal(a.UTC()) {
			rt.Fatalf("ParseID(%s) = %v, %v", ida, got, err)
		}
		key := snapshot.ManifestKey(ida)
		if id, ok := snapshot.IDFromManifestKey(key); !ok || id != ida {
			rt.Fatalf("IDFromManifestKey(%s) = %s, %v", key, id, ok)
		}
	})
	ids := []string{}
	for i := range 5 {
		id, _ := snapshot.NewID(time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), rand.NewChaCha8([32]byte{byte(9 - i)}))
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids out of order: %v", ids)
	}
	for _, bad := range []string{"", "2026", "20261124T220615.123Z-xyz", "20261324T220615.123Z-1a2b3c4d"} {
		if _, err := snapshot.ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

// BenchmarkChunkWriter measures encoding 100,000 user records.
//
//	go test -run '^$' -bench ChunkWriter -benchmem ./internal/snapshot
func BenchmarkChunkWriter(b *testing.B) {
	u := snapshot.User{Username: "user0000001", Sub: "9c32156c-77a4-41e1-88b4-e5867a02d282", Status: "CONFIRMED", Enabled: true,
		Attributes: []snapshot.Attribute{{Name: "email", Value: "user0000001@example.com"}, {Name: "email_verified", Value: "true"},
			{Name: "given_name", Value: "Zoë"}, {Name: "family_name", Value: "Müller"}, {Name: "custom:plan", Value: "pro,annual"}},
		Created: time.Unix(1700000000, 0).UTC(), Modified: time.Unix(1700000000, 0).UTC()}
	b.ReportAllocs()
	for b.Loop() {
		w := snapshot.NewChunkWriter(snapshot.ChunkWriterOptions{Kind: snapshot.KindUsers, Create: func(string) (io.WriteCloser, error) { return nopCloser{io.Discard}, nil }})
		for range 100000 {
			if err := w.Write(u); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "users/s")
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
