package chattest

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

// Senders is the number of concurrent senders in the parallel Append benchmark: the
// load at which iohub's acks/s target is set.
const Senders = 50

// BenchmarkAppend measures Append from one sender and from Senders concurrent senders,
// all in one room or each in a room of its own (as the acks load scenario sends). open
// returns a fresh, empty store; the benchmark closes it.
func BenchmarkAppend(b *testing.B, open func(b *testing.B) chat.Store) {
	msg := message(roomGeneral, "alice", "a message of ordinary length, about as long as this one")
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b, open)
		for b.Loop() {
			if _, _, err := s.Append(b.Context(), roomGeneral, msg); err != nil {
				b.Fatalf("Append: %v", err)
			}
		}
		reportRate(b)
	})
	tests := []struct {
		name string
		room func(sender int64) chat.RoomRef
	}{
		{"parallel", func(int64) chat.RoomRef { return roomGeneral }},
		{"parallel-room-each", func(sender int64) chat.RoomRef {
			return chat.RoomRef{Namespace: "/", Room: fmt.Sprintf("room-%d", sender)}
		}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			s := benchStore(b, open)
			var senders atomic.Int64
			b.SetParallelism((Senders + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				room := tt.room(senders.Add(1))
				for pb.Next() {
					if _, _, err := s.Append(b.Context(), room, msg); err != nil {
						b.Errorf("Append: %v", err)
						return
					}
				}
			})
			reportRate(b)
		})
	}
}

// BenchmarkHistory measures History pages of 50 from a room of 1000 messages: the
// newest page (as join_room reads it) and an older page (as fetch_history scrolls).
func BenchmarkHistory(b *testing.B, open func(b *testing.B) chat.Store) {
	s := benchStore(b, open)
	sent := sendN(b, s, roomGeneral, "alice", 1000)
	tests := []struct {
		name   string
		before string
	}{
		{"newest", ""},
		{"older", sent[500].ID},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := s.History(b.Context(), roomGeneral, tt.before, 50); err != nil {
					b.Fatalf("History: %v", err)
				}
			}
			reportRate(b)
		})
	}
}

// benchStore opens a store and closes it when the benchmark ends.
func benchStore(b *testing.B, open func(b *testing.B) chat.Store) chat.Store {
	s := open(b)
	b.Cleanup(func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	})
	return s
}

// reportRate adds an ops/s metric, which is how the acks/s target is stated.
func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// PipelineDepth is how many AppendAsync calls BenchmarkAppendAsync keeps unanswered, as
// a socket that sends without waiting for each ack does (iohub allows 32 per socket).
const PipelineDepth = 8

// BenchmarkAppendAsync measures one sender that keeps PipelineDepth appends in flight
// with AppendAsync: compare it with BenchmarkAppend's serial case, where the sender waits
// for each. open must return a chat.AsyncAppender.
func BenchmarkAppendAsync(b *testing.B, open func(b *testing.B) chat.Store) {
	s := benchStore(b, open)
	a, ok := s.(chat.AsyncAppender)
	if !ok {
		b.Fatalf("%T is not a chat.AsyncAppender", s)
	}
	msg := message(roomGeneral, "alice", "a message of ordinary length, about as long as this one")
	slots := make(chan struct{}, PipelineDepth)
	done := func(_ chat.Message, _ bool, err error) {
		if err != nil {
			b.Errorf("AppendAsync: %v", err)
		}
		<-slots
	}
	for b.Loop() {
		slots <- struct{}{}
		a.AppendAsync(b.Context(), roomGeneral, msg, done)
	}
	for range PipelineDepth { // wait for the last answers
		slots <- struct{}{}
	}
	reportRate(b)
}
