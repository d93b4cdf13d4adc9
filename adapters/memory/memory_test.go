package memory_test

import (
	"testing"

	"github.com/iohub/iohub/adapters/memory"
	"github.com/iohub/iohub/server/chat"
	"github.com/iohub/iohub/server/chat/chattest"
)

func TestStore(t *testing.T) {
	chattest.TestStore(t, func(*testing.T) chat.Store { return memory.NewStore() })
}

func TestPresence(t *testing.T) {
	chattest.TestPresence(t, func(*testing.T) chat.Presence { return memory.NewPresence() })
}

func BenchmarkAppend(b *testing.B) {
	chattest.BenchmarkAppend(b, func(*testing.B) chat.Store { return memory.NewStore() })
}

func BenchmarkHistory(b *testing.B) {
	chattest.BenchmarkHistory(b, func(*testing.B) chat.Store { return memory.NewStore() })
}
