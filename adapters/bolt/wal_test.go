package bolt

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/iohub/iohub/server/chat"
)

var (
	roomA = chat.RoomRef{Namespace: "/", Room: "a"}
	roomB = chat.RoomRef{Namespace: "/chat", Room: "b"}
)

// users are the authors and readers of the tests' messages.
var users = []string{"ann", "ben", "cat"}

// openT opens the Store in dir; the caller closes it.
func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// fill appends messages from..to-1 per room, each with a client id, alternating authors,
// and moves a reader's cursor; every call is its own batch, so each is one log record.
func fill(t *testing.T, s *Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		for _, ref := range []chat.RoomRef{roomA, roomB} {
			cid := fmt.Sprintf("c%d", i)
			author := users[i%2]
			msg := chat.Message{RoomID: ref.Room, UserID: author, UserName: author, Content: fmt.Sprint(i), ClientMessageID: &cid}
			stored, _, err := s.Append(t.Context(), ref, msg)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if i%3 == 0 {
				if _, _, _, err := s.MarkRead(t.Context(), ref, users[2], stored.ID); err != nil {
					t.Fatalf("MarkRead: %v", err)
				}
			}
		}
	}
}

// state is everything the tests' rooms hold, for comparing stores.
type state struct {
	Msgs    map[chat.RoomRef][]chat.Message
	Cursors map[string]string
	Unread  map[string]int
}

// stateOf reads the state of roomA and roomB.
func stateOf(t *testing.T, s *Store) state {
	t.Helper()
	st := state{Msgs: map[chat.RoomRef][]chat.Message{}, Cursors: map[string]string{}, Unread: map[string]int{}}
	for _, ref := range []chat.RoomRef{roomA, roomB} {
		msgs, more, err := s.History(t.Context(), ref, "", 10000)
		if err != nil || more {
			t.Fatalf("History: %v (more %t)", err, more)
		}
		st.Msgs[ref] = msgs
		for _, u := range users {
			k := ref.Room + "/" + u
			if st.Cursors[k], st.Unread[k], err = s.ReadState(t.Context(), ref, u); err != nil {
				t.Fatalf("ReadState: %v", err)
			}
		}
	}
	return st
}

// crashImage copies the store's files in dir, as they are now, to a new directory: what
// the disk would hold had the process been killed at this point (everything written has
// reached the page cache).
func crashImage(t *testing.T, dir string) string {
	t.Helper()
	img := t.TempDir()
	for _, name := range append([]string{FileName}, WALFileNames[:]...) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(img, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// checkReopened opens img and checks that it holds want, that a retry is still
// recognised and that new ids follow the old ones; it does so twice, the second time
// after the first Open has moved the log into the database.
func checkReopened(t *testing.T, img string, want state) {
	t.Helper()
	for range 2 {
		s := openT(t, img)
		if got := stateOf(t, s); !reflect.DeepEqual(got, want) {
			s.Close()
			t.Fatalf("after the crash:\n got %+v\nwant %+v", got, want)
		}
		s.Close()
	}
	s := openT(t, img)
	defer s.Close()
	msgs := want.Msgs[roomA]
	last := msgs[len(msgs)-1]
	retried, dup, err := s.Append(t.Context(), roomA, chat.Message{RoomID: roomA.Room, UserID: last.UserID, ClientMessageID: last.ClientMessageID})
	if err != nil || !dup || !reflect.DeepEqual(retried, last) {
		t.Fatalf("retry of the last message = %+v, duplicate %t, %v; want the original %+v", retried, dup, err, last)
	}
	next, _, err := s.Append(t.Context(), roomA, chat.Message{RoomID: roomA.Room, UserID: "ann"})
	if err != nil || next.ID != chat.FormatID(roomA, uint64(len(msgs)+1)) {
		t.Fatalf("next message %q, %v; want id %d", next.ID, err, len(msgs)+1)
	}
}

// TestReplayAfterCrash: a crash after the log's sync and before the checkpoint loses
// nothing acknowledged, whether or not the database had received part of the log.
func TestReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	fill(t, s, 0, 20)
	if err := s.Close(); err != nil { // checkpoint: part of the state is in the database
		t.Fatal(err)
	}
	s = openT(t, dir)
	fill(t, s, 20, 25) // and part only in the log, followed there by the earlier epoch's records
	want := stateOf(t, s)

	t.Run("before the checkpoint", func(t *testing.T) {
		checkReopened(t, crashImage(t, dir), want)
	})
	t.Run("after the checkpoint's commit, before the log starts over", func(t *testing.T) {
		img := crashImage(t, dir)
		applyLog(t, img)
		checkReopened(t, img, want)
	})
}

// applyLog does the first half of a checkpoint on the files in dir: it commits the log's
// records to the database and leaves the log as it is.
func applyLog(t *testing.T, dir string) {
	t.Helper()
	pending := newOverlay()
	log, err := openWAL(dir, 0, pending)
	if err != nil || pending.empty() {
		t.Fatalf("replay: %v (empty %t)", err, pending.empty())
	}
	if err := log.close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(pending.apply); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReplayStopsAtTornRecord: a record that a crash tore (here, its last byte is wrong)
// and everything after it are ignored; the records before it are replayed.
func TestReplayStopsAtTornRecord(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	fill(t, s, 0, 5)
	want := stateOf(t, s)
	fill(t, s, 5, 6) // two more records: roomA's message, then roomB's
	img := crashImage(t, dir)

	path := filepath.Join(img, WALFileNames[0]) // the first file, as the log is not full
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int // of each record
	for off := 0; binary.BigEndian.Uint64(data[off+8:]) != 0; {
		off += recordHeader + int(binary.BigEndian.Uint32(data[off:]))
		ends = append(ends, off)
	}
	if len(ends) < 3 {
		t.Fatalf("%d records in the log", len(ends))
	}
	data[ends[len(ends)-3]-1] ^= 0xff // the last record of the first fill
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openT(t, img)
	defer s2.Close()
	got := stateOf(t, s2)
	msgs := want.Msgs[roomB]
	want.Msgs[roomB] = msgs[:len(msgs)-1] // roomB's last message was the torn record
	if !reflect.DeepEqual(got.Msgs, want.Msgs) {
		t.Fatalf("after the torn record:\n got %+v\nwant %+v", got.Msgs, want.Msgs)
	}
}

// TestHistoryAcrossCheckpoint walks History pages over a room whose older messages are in
// the database and newer ones only in the log.
func TestHistoryAcrossCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	fill(t, s, 0, 12)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	fill(t, s, 12, 24)
	for _, limit := range []int{1, 5, 12, 13, 24, 30} {
		var walked []chat.Message
		before, more := "", true
		for more {
			page, m, err := s.History(t.Context(), roomA, before, limit)
			if err != nil || len(page) == 0 {
				t.Fatalf("History(before %q, %d): %d messages, %v", before, limit, len(page), err)
			}
			walked = append(page, walked...)
			before, more = page[0].ID, m
		}
		if len(walked) != 24 {
			t.Fatalf("limit %d: walked %d messages, want 24", limit, len(walked))
		}
		for i, m := range walked {
			if m.ID != chat.FormatID(roomA, uint64(i+1)) || m.Content != fmt.Sprint(i) {
				t.Fatalf("limit %d: message %d is %+v", limit, i, m)
			}
		}
	}
}

// TestReplayIgnoresEarlierGeneration: after the log has switched files twice, the
// records of the earlier generation that follow the new ones in the file (here, exactly
// aligned) are not replayed.
func TestReplayIgnoresEarlierGeneration(t *testing.T) {
	dir := t.TempDir()
	w, err := openWAL(dir, 1<<16, newOverlay())
	if err != nil {
		t.Fatal(err)
	}
	record := func(k, v string) *overlay {
		o := newOverlay()
		o.kv[kvCursors][k] = []byte(v)
		return o
	}
	for _, o := range []*overlay{record("k1", "old"), record("k2", "old")} {
		if err := w.append(o); err != nil {
			t.Fatal(err)
		}
	}
	w.switchFiles()
	w.switchFiles()
	if err := w.append(record("k1", "new")); err != nil {
		t.Fatal(err)
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	got := newOverlay()
	if w, err = openWAL(dir, 1<<16, got); err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if want := record("k1", "new"); !reflect.DeepEqual(got, want) {
		t.Fatalf("replayed %+v, want %+v", got.kv, want.kv)
	}
}

// TestReplayBothFiles: a crash once the log has switched files, with records in both,
// loses nothing and duplicates nothing.
func TestReplayBothFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{CheckpointBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s, 0, 100)
	// Wait, on the writer goroutine, for the checkpoint that may be running.
	for busy := true; busy; {
		err := s.writer.do(t.Context(), func(*view) error {
			busy = s.writer.checkpointing || s.writer.frozen != nil
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := stateOf(t, s)
	img := crashImage(t, dir)
	var gens [2]uint64
	for i, name := range WALFileNames {
		data, err := os.ReadFile(filepath.Join(img, name))
		if err != nil {
			t.Fatal(err)
		}
		gens[i] = scan(data).gen
	}
	if d := int64(gens[0] - gens[1]); d != 1 && d != -1 {
		t.Fatalf("log generations %d: want both files, consecutive", gens)
	}
	checkReopened(t, img, want)
}

// TestLogFailureRefusesWrites: once the log cannot be written, the write fails, so do all
// later ones (what the log holds is unknown), reads still answer with what was
// acknowledged, and Close reports the failure.
func TestLogFailureRefusesWrites(t *testing.T) {
	s := openT(t, t.TempDir())
	fill(t, s, 0, 3)
	want := stateOf(t, s)
	for _, f := range s.writer.log.files { // the writer is idle: nothing uses them now
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	msg := chat.Message{RoomID: roomA.Room, UserID: "ann", Content: "lost"}
	for range 2 {
		if _, _, err := s.Append(t.Context(), roomA, msg); err == nil {
			t.Fatal("Append succeeded without a log")
		}
	}
	if got := stateOf(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the failed writes:\n got %+v\nwant %+v", got, want)
	}
	if err := s.Close(); err == nil {
		t.Fatal("Close succeeded after the log failed")
	}
}
