package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iohub/iohub/adapters/bolt"
	"github.com/iohub/iohub/server/chat"
)

var (
	general = chat.RoomRef{Namespace: "/", Room: "general"}
	random  = chat.RoomRef{Namespace: "/chat", Room: "random"}
)

// openDir opens the Store in dir; the caller closes it.
func openDir(t testing.TB, dir string) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// closeStore closes s and fails the test on error.
func closeStore(t testing.TB, s *bolt.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// appendMsg appends a message of author with an optional client id.
func appendMsg(t testing.TB, s chat.Store, room chat.RoomRef, author, cid string) (chat.Message, bool) {
	t.Helper()
	msg := chat.Message{RoomID: room.Room, UserID: author, UserName: author, Content: "from " + author}
	if cid != "" {
		msg.ClientMessageID = &cid
	}
	stored, dup, err := s.Append(t.Context(), room, msg)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return stored, dup
}

// roomState is everything a Store keeps about one room, for comparing before and after.
type roomState struct {
	msgs    []chat.Message
	cursors map[string]string
	unread  map[string]int
}

// snapshot reads the state of room for the given users.
func snapshot(t testing.TB, s chat.Store, room chat.RoomRef, users ...string) roomState {
	t.Helper()
	msgs, _, err := s.History(t.Context(), room, "", 1000)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	st := roomState{msgs: msgs, cursors: map[string]string{}, unread: map[string]int{}}
	for _, u := range users {
		if st.cursors[u], st.unread[u], err = s.ReadState(t.Context(), room, u); err != nil {
			t.Fatalf("ReadState: %v", err)
		}
	}
	return st
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	var last chat.Message
	for i := range 5 {
		last, _ = appendMsg(t, s, general, "bob", fmt.Sprintf("c%d", i))
		appendMsg(t, s, random, "carol", "")
	}
	if _, _, _, err := s.MarkRead(t.Context(), general, "alice", last.ID); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	users := []string{"alice", "bob", "carol", "dave"}
	want := []roomState{snapshot(t, s, general, users...), snapshot(t, s, random, users...)}
	closeStore(t, s)

	s = openDir(t, dir)
	defer closeStore(t, s)
	got := []roomState{snapshot(t, s, general, users...), snapshot(t, s, random, users...)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopening:\n got %+v\nwant %+v", got, want)
	}
	if retried, dup := appendMsg(t, s, general, "bob", "c4"); !dup || !reflect.DeepEqual(retried, last) {
		t.Fatalf("retry after reopening = %+v, duplicate %t; want the original %+v", retried, dup, last)
	}
	if next, _ := appendMsg(t, s, general, "bob", ""); next.ID <= last.ID {
		t.Fatalf("new id %q after reopening does not sort after %q", next.ID, last.ID)
	}
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	held := t.TempDir()
	s := openDir(t, held)
	defer closeStore(t, s)

	tests := []struct {
		name string
		dir  string
	}{
		{"directory is a file", file},
		{"database held by another Store", held},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := bolt.Open(tt.dir, bolt.Options{LockTimeout: 10 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", tt.dir)
			}
		})
	}
}

func TestClosedStore(t *testing.T) {
	s := openDir(t, t.TempDir())
	closeStore(t, s)
	closeStore(t, s) // closing again is harmless
	if _, _, err := s.Append(t.Context(), general, chat.Message{UserID: "bob", Content: "late"}); !errors.Is(err, bolt.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Fatal("Ping after Close succeeded")
	}
	if _, _, err := s.History(t.Context(), general, "", 10); err == nil {
		t.Fatal("History after Close succeeded")
	}
}

// envKillDir, when set, makes TestKillDurability the child that appends until it is killed.
const envKillDir = "IOHUB_BOLT_KILL_DIR"

// ackedPrefix starts each line on which the child reports an acknowledged message id.
const ackedPrefix = "acked "

// TestKillDurability kills a process with SIGKILL while it appends and checks that every
// message it reported as acknowledged is in the database.
func TestKillDurability(t *testing.T) {
	if dir := os.Getenv(envKillDir); dir != "" {
		appendUntilKilled(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDurability$")
	cmd.Env = append(os.Environ(), envKillDir+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 300
	var acked []string
	lines := bufio.NewScanner(out)
	for lines.Scan() { // until the pipe closes: lines written before the kill still arrive
		id, ok := strings.CutPrefix(lines.Text(), ackedPrefix)
		if !ok {
			continue
		}
		if acked = append(acked, id); len(acked) == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill: %v", err)
			}
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child exited normally; it should have been killed")
	}
	if len(acked) < killAfter {
		t.Fatalf("the child acknowledged only %d messages", len(acked))
	}

	s := openDir(t, dir)
	defer closeStore(t, s)
	msgs, _, err := s.History(t.Context(), general, "", len(acked)*10)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	stored := make(map[string]bool)
	for _, m := range msgs {
		stored[m.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged message %q is not in the database (%d acked, %d stored)", id, len(acked), len(stored))
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(stored))
}

// appendUntilKilled is the child of TestKillDurability: several goroutines append to one
// room and report each acknowledged id on stdout, until the parent kills the process (or,
// should the parent be gone, a generous number of messages later).
func appendUntilKilled(t *testing.T, dir string) {
	s := openDir(t, dir)
	defer closeStore(t, s)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			msg := chat.Message{RoomID: general.Room, UserID: fmt.Sprintf("user%d", w), Content: "until killed"}
			for range 1000 {
				stored, _, err := s.Append(t.Context(), general, msg)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				fmt.Println(ackedPrefix + stored.ID) // one write(2), so lines never interleave
			}
		})
	}
	wg.Wait()
}

// TestCancelledWrites cancels writers while they wait for the writer goroutine or for a
// commit: they fail with the context's error, everything acknowledged is stored, and the
// Store keeps working.
func TestCancelledWrites(t *testing.T) {
	s := openDir(t, t.TempDir())
	defer closeStore(t, s)
	first, _ := appendMsg(t, s, general, "bob", "")
	ctx, cancel := context.WithCancel(t.Context())
	acked := make([][]string, 20)
	var wg sync.WaitGroup
	for w := range acked {
		wg.Go(func() {
			msg := chat.Message{RoomID: general.Room, UserID: fmt.Sprintf("user%d", w), Content: "maybe"}
			for range 20 {
				stored, _, err := s.Append(ctx, general, msg)
				if err == nil {
					acked[w] = append(acked[w], stored.ID)
				} else if !errors.Is(err, context.Canceled) {
					t.Errorf("Append: %v, want nil or context.Canceled", err)
				}
				if _, _, _, err := s.MarkRead(ctx, general, msg.UserID, first.ID); err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("MarkRead: %v, want nil or context.Canceled", err)
				}
			}
		})
	}
	cancel()
	wg.Wait()
	appendMsg(t, s, general, "bob", "")
	stored := make(map[string]bool)
	for _, m := range snapshot(t, s, general).msgs {
		stored[m.ID] = true
	}
	for _, id := range slices.Concat(acked...) {
		if !stored[id] {
			t.Fatalf("acknowledged message %q is missing", id)
		}
	}
}
