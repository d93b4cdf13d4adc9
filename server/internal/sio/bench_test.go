package sio

import "testing"

// The payloads as the library hands them over: JSON objects decoded into map[string]any.
var (
	benchSend = map[string]any{
		"roomId": "general", "content": "hello there, how is everyone doing today?",
		"messageId": "c-7f3a9e", "replyTo": nil,
	}
	benchJoin = map[string]any{"roomId": "general", "historyLimit": float64(50)}
)

func BenchmarkDecodeSend(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeSend(benchSend); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJoin(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeJoin(benchJoin); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitEvent(b *testing.B) {
	event := []any{"send_message", benchSend}
	b.ReportAllocs()
	for b.Loop() {
		if name, _ := splitEvent(event); name != "send_message" {
			b.Fatal(name)
		}
	}
}

// BenchmarkGrowStack is the cost of growStack on a goroutine whose stack is already large.
func BenchmarkGrowStack(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		growStack()
	}
}
