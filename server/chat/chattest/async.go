package chattest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

// TestAsyncAppender runs the chat.AsyncAppender conformance suite; open is as for
// TestStore and must return a store that implements chat.AsyncAppender.
func TestAsyncAppender(t *testing.T, open func(t *testing.T) chat.Store) {
	asyncOf := func(t *testing.T) (chat.Store, chat.AsyncAppender) {
		s := open(t)
		a, ok := s.(chat.AsyncAppender)
		if !ok {
			t.Fatalf("%T is not a chat.AsyncAppender", s)
		}
		return s, a
	}
	t.Run("AnswersInCallOrderWithAppendsResults", func(t *testing.T) {
		s, a := asyncOf(t)
		t.Cleanup(func() { _ = s.Close() })
		testAsyncOrder(t, s, a)
	})
	t.Run("AfterClose", func(t *testing.T) {
		s, a := asyncOf(t)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if r := collectAsync(t, a, []chat.Message{message(roomGeneral, "alice", "late")})[0]; r.err == nil {
			t.Errorf("AppendAsync after Close stored %+v, want an error", r.stored)
		}
	})
}

// asyncResult is what one AppendAsync call's done got.
type asyncResult struct {
	stored chat.Message
	dup    bool
	err    error
}

// collectAsync submits msgs to roomGeneral one after another without waiting and returns
// what their done calls got, in the order the calls came; the test fails when a done is
// called twice.
func collectAsync(t *testing.T, a chat.AsyncAppender, msgs []chat.Message) []asyncResult {
	t.Helper()
	var (
		mu    sync.Mutex
		order []int
		got   = make([]asyncResult, len(msgs))
		wg    sync.WaitGroup
	)
	wg.Add(len(msgs))
	for i, msg := range msgs {
		a.AppendAsync(t.Context(), roomGeneral, msg, func(stored chat.Message, dup bool, err error) {
			mu.Lock()
			order = append(order, i)
			got[i] = asyncResult{stored, dup, err}
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	for k, i := range order {
		if k != i {
			t.Fatalf("done calls came in the order %v, want the order of the calls", order)
		}
	}
	return got
}

// testAsyncOrder submits a burst with a retry and a bad reply in it, and checks each
// answer against what Append promises and the order of the answers against the calls.
func testAsyncOrder(t *testing.T, s chat.Store, a chat.AsyncAppender) {
	const n = 40
	msgs := make([]chat.Message, n)
	for i := range msgs {
		msgs[i] = message(roomGeneral, "alice", fmt.Sprintf("m%d", i))
	}
	msgs[5].ClientMessageID = ptr("retry-key")
	msgs[9].ClientMessageID = ptr("retry-key") // a retry of msgs[5] within the same burst
	msgs[12].ReplyTo = ptr("no such message")
	got := collectAsync(t, a, msgs)

	var stored []chat.Message
	for i, r := range got {
		switch {
		case i == 9:
			if r.err != nil || !r.dup || r.stored.ID != got[5].stored.ID {
				t.Errorf("retry #%d: got (%+v, dup %v, %v), want the message of #5 as a duplicate", i, r.stored, r.dup, r.err)
			}
		case i == 12:
			if !errors.Is(r.err, chat.ErrNotFound) {
				t.Errorf("#%d with an unknown replyTo: error %v, want ErrNotFound", i, r.err)
			}
		case r.err != nil || r.dup || r.stored.Content != msgs[i].Content:
			t.Errorf("#%d: got (%+v, dup %v, %v), want message %q stored", i, r.stored, r.dup, r.err, msgs[i].Content)
		default:
			stored = append(stored, r.stored)
		}
	}
	wantIncreasing(t, ids(stored))
	if all, _ := history(t, s, roomGeneral, "", 2*n); !reflect.DeepEqual(all, stored) {
		t.Errorf("history after the burst:\n got %v\nwant %v", ids(all), ids(stored))
	}
}
