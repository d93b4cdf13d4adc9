package bolt

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iohub/iohub/server/chat"
)

// put writes key k.
func put(k string) txFunc {
	return func(v *view) error {
		v.batch.kv[kvCursors][k] = []byte("v")
		return nil
	}
}

// errBoom is the failure of breakAfterPut.
var errBoom = errors.New("boom")

// breakAfterPut writes key k and then fails, so its write must be dropped.
func breakAfterPut(k string) txFunc {
	return func(v *view) error {
		if err := put(k)(v); err != nil {
			return err
		}
		return errBoom
	}
}

// refuse refuses the request without writing.
func refuse(*view) error { return refusal{chat.ErrNotFound} }

func TestCommitIsolatesRequests(t *testing.T) {
	tests := []struct {
		name     string
		batch    []txFunc
		wantErrs []error
		wantKeys []string
	}{
		{"all succeed", []txFunc{put("a"), put("b")}, []error{nil, nil}, []string{"a", "b"}},
		{"one refused", []txFunc{put("a"), refuse, put("b")}, []error{nil, chat.ErrNotFound, nil}, []string{"a", "b"}},
		{"one fails after writing", []txFunc{put("a"), breakAfterPut("x"), put("b")}, []error{nil, errBoom, nil}, []string{"a", "b"}},
		{"first fails", []txFunc{breakAfterPut("x"), put("a")}, []error{errBoom, nil}, []string{"a"}},
		{"every kind", []txFunc{refuse, breakAfterPut("x"), put("a"), breakAfterPut("y"), refuse}, []error{chat.ErrNotFound, errBoom, nil, errBoom, chat.ErrNotFound}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w := &writer{db: s.db, log: s.writer.log, mem: newOverlay()} // commit is called directly, without run
			batch := make([]*request, len(tt.batch))
			for i, apply := range tt.batch {
				batch[i] = &request{apply: apply}
			}
			w.commit(batch)
			for i, r := range batch {
				if !errors.Is(r.err, tt.wantErrs[i]) {
					t.Errorf("request %d: error %v, want %v", i, r.err, tt.wantErrs[i])
				}
			}
			if got := slices.Sorted(maps.Keys(w.mem.kv[kvCursors])); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("stored keys %q, want %q", got, tt.wantKeys)
			}
		})
	}
}

// TestAsyncAppendsShareACommit holds the writer inside a batch while one goroutine makes a
// burst of AppendAsync calls: the calls return without waiting for it, and the burst then
// commits as one log record (one sync), answered in the order of the calls.
func TestAsyncAppendsShareACommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	taken, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	var hold sync.Once // apply may run again; it holds the writer once
	s.writer.submit(&request{apply: func(v *view) error {
		hold.Do(func() { close(taken); <-release })
		return put("held")(v)
	}, done: func(error) {}})
	<-taken

	const n = 10
	room := chat.RoomRef{Namespace: "/", Room: "burst"}
	answers := make(chan string, n)
	submitted := make(chan struct{})
	go func() {
		defer close(submitted)
		for i := range n {
			msg := chat.Message{RoomID: room.Room, UserID: "u", Content: fmt.Sprintf("m%d", i)}
			s.AppendAsync(t.Context(), room, msg, func(m chat.Message, _ bool, err error) {
				answers <- m.Content + errText(err)
			})
		}
	}()
	select {
	case <-submitted:
	case <-time.After(10 * time.Second): // a deadlock detector, not a measurement
		t.Fatal("AppendAsync waited for the batch in progress")
	}
	releaseOnce()
	for i := range n {
		if got, want := <-answers, fmt.Sprintf("m%d", i); got != want {
			t.Fatalf("answer %d: %q, want %q", i, got, want)
		}
	}

	data, err := os.ReadFile(filepath.Join(dir, WALFileNames[0]))
	if err != nil {
		t.Fatal(err)
	}
	if records := len(scan(data).payloads); records != 2 {
		t.Errorf("the log holds %d records, want 2: the held batch and the whole burst", records)
	}
}

// errText is err's text after a space, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return " " + err.Error()
}
