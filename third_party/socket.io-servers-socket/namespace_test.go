package socket

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/servers/engine/v3"
)

// iohub patch (namespace.Add): a connection completes whether the middlewares call back
// before run returns (completed on the reader) or later from a goroutine of their own
// (queued as upstream did), and a middleware's error still reaches the client.
func TestNamespaceAddMiddlewareCallbacks(t *testing.T) {
	cases := []struct {
		name      string
		mw        NamespaceMiddleware
		reply     string // prefix of the reply to the client's CONNECT
		connected bool
	}{
		{"sync next", func(_ *Socket, next func(*ExtendedError)) { next(nil) }, "40{", true},
		{"async next", func(_ *Socket, next func(*ExtendedError)) {
			go func() { time.Sleep(10 * time.Millisecond); next(nil) }()
		}, "40{", true},
		{"sync error", func(_ *Socket, next func(*ExtendedError)) {
			next(NewExtendedError("denied", map[string]any{"code": "x"}))
		}, `44{"data":{"code":"x"},"message":"denied"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			connections := make(chan struct{}, 1)
			srv := NewServer(nil, nil)
			defer srv.Close(nil)
			srv.Use(tc.mw)
			_ = srv.On("connection", func(...any) { connections <- struct{}{} })
			hs := httptest.NewServer(srv.ServeHandler(nil))
			defer hs.Close()

			url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
			conn, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			if open := readMessage(t, conn); !strings.HasPrefix(open, "0{") {
				t.Fatalf("open packet %q", open)
			}
			waitAttached(t, srv)
			if err := conn.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
				t.Fatalf("write CONNECT: %v", err)
			}
			if reply := readMessage(t, conn); !strings.HasPrefix(reply, tc.reply) {
				t.Fatalf("reply to CONNECT %q, want prefix %q", reply, tc.reply)
			}
			if !tc.connected {
				if len(connections) != 0 {
					t.Fatal("a connection event after a middleware error")
				}
				return
			}
			select { // the event comes after the CONNECT reply is written
			case <-connections:
			case <-time.After(5 * time.Second):
				t.Fatal("no connection event")
			}
		})
	}
}

// readMessage is the connection's next text message; it fails the test after 5 s.
func readMessage(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(data)
}

// waitAttached waits until the Socket.IO client listens to the engine connection: the
// library's own websocket transport sends the open packet before that, and drops a packet
// read in between (iohub's transport waits for it; this test uses the library's).
func waitAttached(t *testing.T, srv *Server) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		attached := false
		srv.Engine().Clients().Range(func(_ string, conn engine.Socket) bool {
			attached = conn.ListenerCount("data") > 0
			return false
		})
		if attached {
			return
		}
	}
	t.Fatal("the Socket.IO client never attached to the connection")
}
