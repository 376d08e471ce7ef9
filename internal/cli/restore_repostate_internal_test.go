package cli

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/restore"
	"github.com/cogvault/cogvault/internal/storage"
)

// Guards the CLI's periodic state saves (bug 2 of the steps review): while
// a --state-in-repo run goes on, what it appended to its state reaches the
// repository without waiting for the run's end, so a killed run (kill -9)
// loses at most one interval of records.
func TestStateInRepoIsStoredWhileTheRunGoesOn(t *testing.T) {
	ctx := context.Background()
	store, err := storage.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rp := repo.New(store)
	rs, err := restore.FetchState(ctx, rp, "us-east-1_T", "snap", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Remove()
	stop := saveEvery(ctx, rs, 10*time.Millisecond)
	defer stop()
	f, err := os.OpenFile(rs.Path(), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("{\"e\":\"intent\",\"u\":\"alice\"}\n"); err != nil {
		t.Fatal(err)
	}
	prefix := restore.StateCheckpoint("us-east-1_T", "snap")
	for range 2000 { // every 10 ms: a save that never comes fails the test after ~20 s
		names, err := rp.Checkpoints(ctx, prefix+"state-")
		if err != nil {
			t.Fatal(err)
		}
		if len(names) > 0 {
			rc, err := rp.GetCheckpoint(ctx, names[0])
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 100)
			n, _ := rc.Read(b)
			rc.Close()
			if !strings.Contains(string(b[:n]), "alice") {
				t.Fatalf("stored segment: %q", b[:n])
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the state appended during the run was never stored before its end")
}
