package bolt_test

import (
	"testing"

	"github.com/iohub/iohub/adapters/bolt"
	"github.com/iohub/iohub/server/chat"
	"github.com/iohub/iohub/server/chat/chattest"
)

// open opens a Store in a fresh directory; the caller closes it.
func open(t testing.TB) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	chattest.TestStore(t, func(t *testing.T) chat.Store { return open(t) })
}

func BenchmarkAppend(b *testing.B) {
	chattest.BenchmarkAppend(b, func(b *testing.B) chat.Store { return open(b) })
}

func BenchmarkHistory(b *testing.B) {
	chattest.BenchmarkHistory(b, func(b *testing.B) chat.Store { return open(b) })
}

// TestStoreCheckpointEveryBatch runs the conformance suite with a checkpoint after every
// batch, so that reads find everything in the database rather than in the log's overlay.
func TestStoreCheckpointEveryBatch(t *testing.T) {
	chattest.TestStore(t, func(t *testing.T) chat.Store {
		s, err := bolt.Open(t.TempDir(), bolt.Options{CheckpointBytes: 1})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestAsyncAppender(t *testing.T) {
	chattest.TestAsyncAppender(t, func(t *testing.T) chat.Store { return open(t) })
}

func BenchmarkAppendAsync(b *testing.B) {
	chattest.BenchmarkAppendAsync(b, func(b *testing.B) chat.Store { return open(b) })
}
