//go:build linux

package sio

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer speaks just enough Engine.IO 4 / Socket.IO 5 over WebSocket: open packet,
// CONNECT reply, a ping, then it answers `42N["echo",x]` with the event `42["echo",x]` and
// the ack `43N[x]`.
func fakeServer(t *testing.T) *httptest.Server {
	t.Helper()
	up := websocket.Upgrader{}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		send := func(s string) { _ = conn.WriteMessage(websocket.TextMessage, []byte(s)) }
		send(`0{"sid":"s1","pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			switch {
			case bytes.HasPrefix(msg, []byte("40")):
				send(`40{"sid":"x"}`)
				send("2")
			case bytes.HasPrefix(msg, []byte("42")):
				_, args := splitAckID(msg[2:])
				ackID := string(msg[2 : len(msg)-len(args)])
				payload := string(bytes.TrimSuffix(bytes.TrimPrefix(args, []byte(`["echo",`)), []byte("]")))
				send(`42["echo",` + payload + `]`)
				send("43" + ackID + "[" + payload + "]")
			}
		}
	}))
}

func TestClientEventsAndAcks(t *testing.T) {
	srv := fakeServer(t)
	defer srv.Close()
	poller, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	defer poller.Close()
	for name, p := range map[string]*Poller{"goroutine": nil, "poller": poller} {
		t.Run(name, func(t *testing.T) {
			events := make(chan string, 4)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := Dial(ctx, Options{URL: srv.URL, Token: "t", Poller: p, OnEvent: func(args []byte) { events <- string(args) }})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			reply, err := c.Call(ctx, []byte(`["echo",{"n":1}]`))
			if err != nil {
				t.Fatal(err)
			}
			if string(reply) != `[{"n":1}]` {
				t.Errorf("ack = %s", reply)
			}
			if ev := <-events; ev != `["echo",{"n":1}]` {
				t.Errorf("event = %s", ev)
			}
		})
	}
}

func TestFeedReassemblesSplitAndFragmentedFrames(t *testing.T) {
	var got []string
	pc := &polled{onPacket: func(p []byte) { got = append(got, string(p)) }}
	long := bytes.Repeat([]byte("x"), 300)
	stream := append([]byte{0x81, 2}, "ab"...)
	stream = append(stream, 0x81, 126, 1, 44) // 300 bytes, 16-bit length
	stream = append(stream, long...)
	stream = append(stream, 0x01, 2, 'c', 'd', 0x80, 1, 'e') // "cd" + continuation "e"
	for i := 0; i < len(stream); i += 7 {
		if err := pc.feed(stream[i:min(i+7, len(stream))]); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"ab", string(long), "cde"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("packets = %q, want %q", got, want)
	}
	if len(pc.pending) != 0 {
		t.Errorf("%d bytes left pending", len(pc.pending))
	}
}

func TestMaskedServerFrameIsAnError(t *testing.T) {
	if _, _, _, _, _, err := nextFrame([]byte{0x81, 0x82, 1, 2, 3, 4, 'a', 'b'}); err == nil {
		t.Error("masked frame accepted")
	}
}
