package socket

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// iohub patch (Socket.Handshake): the handshake is built on the first call, from the
// connection's request, with the values upstream built when the socket was constructed;
// Auth and SetAuth reach the payload without building it.
func TestSocketHandshakeBuiltOnFirstCall(t *testing.T) {
	sockets := make(chan *Socket, 1)
	srv := NewServer(nil, nil)
	defer srv.Close(nil)
	srv.Use(func(s *Socket, next func(*ExtendedError)) {
		if got := s.Auth(); !reflect.DeepEqual(got, map[string]any{"token": "t", "keep": "k"}) {
			t.Errorf("Auth() in the middleware = %v", got)
		}
		s.SetAuth(map[string]any{"keep": "k"})
		next(nil)
	})
	_ = srv.On("connection", func(args ...any) { sockets <- args[0].(*Socket) })
	hs := httptest.NewServer(srv.ServeHandler(nil))
	defer hs.Close()

	before := time.Now().UnixMilli()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket&room=a&room=b"
	conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"X-Test": {"v"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	readMessage(t, conn) // OPEN
	waitAttached(t, srv)
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`40{"token":"t","keep":"k"}`)); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	var s *Socket
	select {
	case s = <-sockets:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection event")
	}
	if s.handshake.Load() != nil {
		t.Fatal("the handshake was built before anything asked for it")
	}

	h := s.Handshake()
	if h != s.Handshake() {
		t.Error("Handshake() built a second handshake")
	}
	if got := h.Headers["X-Test"]; !reflect.DeepEqual(got, []string{"v"}) {
		t.Errorf("Headers[X-Test] = %#v", got)
	}
	if got := h.Query["room"]; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Query[room] = %#v", got)
	}
	if !reflect.DeepEqual(h.Auth, map[string]any{"keep": "k"}) {
		t.Errorf("Auth = %v, want the payload given to SetAuth", h.Auth)
	}
	if h.Xdomain || h.Secure || h.Address == "" {
		t.Errorf("Xdomain %v, Secure %v, Address %q", h.Xdomain, h.Secure, h.Address)
	}
	if h.Url != "/socket.io/?EIO=4&transport=websocket&room=a&room=b" {
		t.Errorf("Url = %q", h.Url)
	}
	if h.Issued < before || h.Issued > time.Now().UnixMilli() {
		t.Errorf("Issued %d is not the socket's construction (after %d)", h.Issued, before)
	}
	if want := time.UnixMilli(h.Issued).Format(time.RFC3339); h.Time != want {
		t.Errorf("Time = %q, want %q", h.Time, want)
	}
}
