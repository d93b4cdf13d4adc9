package redis_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// waitFor bounds every wait of the tests; conditions are awaited, never slept on.
const waitFor = 15 * time.Second

// event is an EVENT packet a wsClient received.
type event struct {
	Name string
	Args []json.RawMessage
}

// wsClient is a minimal Socket.IO v5 client over a raw Engine.IO 4 websocket: it
// connects one namespace, answers pings and collects events.
type wsClient struct {
	conn   *websocket.Conn
	nsp    string
	sid    string
	writeM sync.Mutex
	events chan event
	closed chan struct{} // closed when the connection ends
}

// dial connects a client to namespace nsp of the Socket.IO server at srv.
func dial(t *testing.T, srv *httptest.Server, nsp string) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &wsClient{conn: conn, nsp: nsp, events: make(chan event, 256), closed: make(chan struct{})}
	connected := make(chan string, 1)
	go c.read(t, connected)
	t.Cleanup(func() {
		_ = conn.Close()
		<-c.closed
	})
	c.sid = c.awaitConnect(t, connected)
	return c
}

// resendConnect is how long a client waits for its CONNECT reply before sending CONNECT
// again. The library's websocket transport starts reading before the server attaches its
// packet listeners, so a CONNECT sent right after the handshake is sometimes lost.
const resendConnect = 3 * time.Second

// awaitConnect waits for the CONNECT reply, resending CONNECT when it seems lost.
func (c *wsClient) awaitConnect(t *testing.T, connected <-chan string) string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case sid := <-connected:
			return sid
		case <-time.After(resendConnect):
			c.write(t, "40"+c.prefix())
		case <-deadline:
			t.Fatalf("no CONNECT reply for %s", c.nsp)
		}
	}
}

// prefix is the namespace part of a packet ("" for "/").
func (c *wsClient) prefix() string {
	if c.nsp == "/" {
		return ""
	}
	return c.nsp + ","
}

// write sends one Engine.IO message.
func (c *wsClient) write(t *testing.T, msg string) {
	c.writeM.Lock()
	defer c.writeM.Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Errorf("write %q: %v", msg, err)
	}
}

// read is the client's reader goroutine; it ends when the connection does.
func (c *wsClient) read(t *testing.T, connected chan<- string) {
	defer close(c.closed)
	defer close(c.events)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		msg := string(data)
		switch {
		case strings.HasPrefix(msg, "0"):
			c.write(t, "40"+c.prefix())
		case msg == "2":
			c.write(t, "3")
		case strings.HasPrefix(msg, "40"+c.prefix()):
			var ok struct{ Sid string }
			_ = json.Unmarshal([]byte(strings.TrimPrefix(msg, "40"+c.prefix())), &ok)
			select {
			case connected <- ok.Sid:
			default: // a reply to a resent CONNECT
			}
		case strings.HasPrefix(msg, "42"+c.prefix()), strings.HasPrefix(msg, "45"):
			c.event(t, msg)
		case strings.HasPrefix(msg, "41"+c.prefix()):
			_ = c.conn.Close()
		}
	}
}

// event parses an EVENT or BINARY_EVENT message (attachments are not collected) and
// acknowledges it when the server asks.
func (c *wsClient) event(t *testing.T, msg string) {
	body := msg[2:]
	if msg[1] == '5' {
		_, body, _ = strings.Cut(body, "-")
	}
	body = strings.TrimPrefix(body, c.prefix())
	ackID, body, _ := strings.Cut(body, "[")
	body = "[" + body
	if ackID != "" { // the server wants an ack: answer "ack"
		c.write(t, "43"+c.prefix()+ackID+`["ack"]`)
	}
	var raw []json.RawMessage
	if json.Unmarshal([]byte(body), &raw) != nil || len(raw) == 0 {
		t.Errorf("bad event %q", msg)
		return
	}
	var ev event
	_ = json.Unmarshal(raw[0], &ev.Name)
	ev.Args = raw[1:]
	c.events <- ev
}

// next returns the next event; the test fails when none comes.
func (c *wsClient) next(t *testing.T) event {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatalf("client %s: connection closed while waiting for an event", c.sid)
		}
		return ev
	case <-time.After(waitFor):
		t.Fatalf("client %s: no event", c.sid)
	}
	return event{}
}

// expect fails unless the next event is name, and returns its first argument as text.
func (c *wsClient) expect(t *testing.T, name string) string {
	t.Helper()
	ev := c.next(t)
	if ev.Name != name {
		t.Fatalf("client %s: got event %q %s, want %q", c.sid, ev.Name, ev.Args, name)
	}
	return argText(ev)
}

// argText is an event's first argument as text ("" when it has none).
func argText(ev event) string {
	if len(ev.Args) == 0 {
		return ""
	}
	return string(ev.Args[0])
}

// waitClosed fails unless the server closes the connection.
func (c *wsClient) waitClosed(t *testing.T) {
	t.Helper()
	for {
		select {
		case _, ok := <-c.events:
			if !ok {
				return
			}
		case <-time.After(waitFor):
			t.Fatalf("client %s still connected", c.sid)
		}
	}
}
