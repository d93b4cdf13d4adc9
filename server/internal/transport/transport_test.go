package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/iohub/iohub/server/internal/sioparser"
)

// testServer is a Socket.IO server on this package's transports, served like iohub does.
type testServer struct {
	io  *socket.Server
	url string // ws://host/socket.io/
	srv *httptest.Server
	// connected receives each socket of namespace "/" as it connects.
	connected  chan *socket.Socket
	transports Builder
}

func newTestServer(t testing.TB, configure func(*socket.ServerOptions)) *testServer {
	t.Helper()
	ts := &testServer{connected: make(chan *socket.Socket, 16)}
	o := socket.DefaultServerOptions()
	o.SetServeClient(false)
	o.SetTransports(ts.transports.Set())
	o.SetAdapter(AdapterBuilder{})
	if configure != nil {
		configure(o)
	}
	io := socket.NewServer(nil, o)
	ts.io = io
	_ = io.On("connection", func(args ...any) {
		if s, ok := args[0].(*socket.Socket); ok {
			ts.connected <- s
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", ReleaseOnHijack(io.ServeHandler(nil)))
	ts.srv = httptest.NewServer(mux)
	ts.url = "ws" + strings.TrimPrefix(ts.srv.URL, "http") + "/socket.io/"
	t.Cleanup(func() {
		io.Close(nil)
		ts.srv.Close()
		ts.transports.Close()
	})
	return ts
}

// client is a raw Engine.IO 4 / Socket.IO 5 client over one WebSocket.
type client struct {
	t testing.TB
	c *ws.Conn
}

// dial opens a websocket session (or upgrades sid when not empty) without connecting to
// a namespace.
func (ts *testServer) dial(t testing.TB, sid string) *client {
	t.Helper()
	u := ts.url + "?EIO=4&transport=websocket"
	if sid != "" {
		u += "&sid=" + sid
	}
	c, resp, err := ws.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c}
}

// connect opens a session, joins namespace "/" and returns the server's socket.
func (ts *testServer) connect(t testing.TB) (*client, *socket.Socket) {
	t.Helper()
	c := ts.dial(t, "")
	s, err := c.join(ts.connected)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// join reads the open packet, connects to namespace "/" and waits for the server's socket.
func (c *client) join(connected <-chan *socket.Socket) (*socket.Socket, error) {
	for _, step := range []struct{ send, want string }{{"", "0{"}, {"40", "40{"}} {
		if step.send != "" {
			if err := c.c.WriteMessage(ws.TextMessage, []byte(step.send)); err != nil {
				return nil, fmt.Errorf("write %q: %w", step.send, err)
			}
		}
		mt, msg, err := c.next()
		if err != nil {
			return nil, fmt.Errorf("reading (want %q…): %w", step.want, err)
		}
		if mt != ws.TextMessage || !bytes.HasPrefix(msg, []byte(step.want)) {
			return nil, fmt.Errorf("got type %d %q, want %q…", mt, msg, step.want)
		}
	}
	select {
	case s := <-connected:
		return s, nil
	case <-time.After(5 * time.Second):
		return nil, errors.New("no connection event")
	}
}

func (c *client) send(msg string) {
	c.t.Helper()
	if err := c.c.WriteMessage(ws.TextMessage, []byte(msg)); err != nil {
		c.t.Fatalf("write %q: %v", msg, err)
	}
}

// next reads the next message within a few seconds.
func (c *client) next() (int, []byte, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	return c.c.ReadMessage()
}

func (c *client) expectPrefix(wantType int, prefix string) []byte {
	c.t.Helper()
	mt, msg, err := c.next()
	if err != nil {
		c.t.Fatalf("reading (want %q…): %v", prefix, err)
	}
	if mt != wantType || !bytes.HasPrefix(msg, []byte(prefix)) {
		c.t.Fatalf("got type %d %q, want type %d %q…", mt, msg, wantType, prefix)
	}
	return msg
}

// expectClosed reads until the server ends the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	for {
		if _, _, err := c.next(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				c.t.Fatal("connection still open")
			}
			return
		}
	}
}

func TestBroadcastReachesEveryMemberInOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	const members, messages = 3, 200
	clients := make([]*client, members)
	for i := range clients {
		c, s := ts.connect(t)
		s.Join("room")
		clients[i] = c
	}
	for i := range messages {
		if err := ts.io.To("room").Emit("tick", i); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		for i := range messages {
			c.expectPrefix(ws.TextMessage, fmt.Sprintf(`42["tick",%d]`, i))
		}
	}
}

func TestBroadcastSelectionAndOrderWithDirectEmits(t *testing.T) {
	ts := newTestServer(t, nil)
	a, sa := ts.connect(t)
	b, sb := ts.connect(t)
	c, sc := ts.connect(t)
	sa.Join("r1", "r2")
	sb.Join("r2")
	sc.Join("r3")
	for i := range 50 {
		_ = sa.Emit("direct", i)
		_ = ts.io.To("r1", "r2").Except(socket.Room(sb.Id())).Emit("room", i)
	}
	_ = ts.io.To("r1", "r2", "r3").Emit("all", true)
	_ = ts.io.Emit("everyone", true)
	for i := range 50 { // once per broadcast despite two rooms, in order with direct emits
		a.expectPrefix(ws.TextMessage, fmt.Sprintf(`42["direct",%d]`, i))
		a.expectPrefix(ws.TextMessage, fmt.Sprintf(`42["room",%d]`, i))
	}
	for _, cl := range []*client{a, b, c} { // b was excepted from "room"
		cl.expectPrefix(ws.TextMessage, `42["all",true]`)
		cl.expectPrefix(ws.TextMessage, `42["everyone",true]`)
	}
}

func TestSlowReaderKeepsOrderThroughCongestion(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	s.Join("room")
	pad := strings.Repeat("x", 1000)
	const n = 20000 // far more than the socket buffers hold: the queue passes highWater
	congested := false
	for i := range n {
		_ = ts.io.To("room").Emit("m", i, pad)
		if i%100 == 0 {
			_ = s.Emit("direct", i)
		}
		if !s.Conn().Transport().Writable() {
			congested = true
			_ = ts.io.To("room").Volatile().Emit("volatile", i) // may be dropped, never reordered
		}
	}
	_ = s.Emit("end")
	if !congested {
		t.Log("the connection never congested; the fallback path was not exercised")
	}
	next := 0
	for {
		_, msg, err := c.next()
		if err != nil {
			t.Fatalf("after %d of %d: %v", next, n, err)
		}
		switch {
		case bytes.HasPrefix(msg, []byte(`42["m",`)):
			if want := fmt.Sprintf(`42["m",%d,`, next); !bytes.HasPrefix(msg, []byte(want)) {
				t.Fatalf("got %.20q, want %q", msg, want)
			}
			next++
		case bytes.HasPrefix(msg, []byte(`42["end"]`)):
			if next != n {
				t.Fatalf("end after %d of %d", next, n)
			}
			return
		}
	}
}

func TestDirectEmitAndBinary(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	if err := s.Emit("bin", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.expectPrefix(ws.TextMessage, `451-["bin",{"_placeholder":true,"num":0}]`)
	if got := c.expectPrefix(ws.BinaryMessage, ""); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("binary attachment %v", got)
	}
}

func TestBinaryBroadcastTakesTheLibraryPath(t *testing.T) {
	ts := newTestServer(t, nil)
	c, _ := ts.connect(t)
	_ = ts.io.Emit("bin", []byte{9})
	c.expectPrefix(ws.TextMessage, `451-["bin",{"_placeholder":true,"num":0}]`)
	if got := c.expectPrefix(ws.BinaryMessage, ""); !bytes.Equal(got, []byte{9}) {
		t.Fatalf("binary attachment %v", got)
	}
}

// echoAcks makes s answer an "echo" event's ack with the event's arguments.
func echoAcks(s *socket.Socket) {
	_ = s.On("echo", func(args ...any) {
		if ack, ok := args[len(args)-1].(socket.Ack); ok {
			ack(args[:len(args)-1], nil)
		}
	})
}

func TestIncomingEventsAndAcks(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	echoAcks(s)
	c.send(`421["echo","hi"]`)
	c.expectPrefix(ws.TextMessage, `431["hi"]`)
}

func TestHeartbeat(t *testing.T) {
	ts := newTestServer(t, func(o *socket.ServerOptions) {
		o.SetPingInterval(50 * time.Millisecond)
		o.SetPingTimeout(5 * time.Second)
	})
	c, _ := ts.connect(t)
	c.expectPrefix(ws.TextMessage, "2")
	c.send("3")
	c.expectPrefix(ws.TextMessage, "2")
}

func TestWebSocketPingIsAnsweredThroughTheQueue(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	pong := make(chan string, 1)
	c.c.SetPongHandler(func(data string) error {
		pong <- data
		return nil
	})
	if err := c.c.WriteControl(ws.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// The pong is handled while reading; writes after it still succeed (no stray write
	// deadline left behind by the pong).
	time.Sleep(50 * time.Millisecond)
	if err := s.Emit("after", 1); err != nil {
		t.Fatal(err)
	}
	c.expectPrefix(ws.TextMessage, `42["after",1]`)
	select {
	case got := <-pong:
		if got != "hello" {
			t.Fatalf("pong %q", got)
		}
	default:
		t.Fatal("no pong")
	}
}

func TestOversizeMessageClosesTheConnection(t *testing.T) {
	ts := newTestServer(t, func(o *socket.ServerOptions) { o.SetMaxHttpBufferSize(100) })
	c, s := ts.connect(t)
	gone := make(chan struct{})
	_ = s.On("disconnect", func(...any) { close(gone) })
	c.send(`42["big","` + strings.Repeat("x", 200) + `"]`)
	c.expectClosed()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("socket not disconnected")
	}
}

func TestServerDisconnectIsWrittenBeforeClose(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	for i := range 100 {
		_ = s.Emit("tick", i)
	}
	s.Disconnect(true)
	for i := range 100 {
		c.expectPrefix(ws.TextMessage, fmt.Sprintf(`42["tick",%d]`, i))
	}
	c.expectPrefix(ws.TextMessage, "41")
	c.expectClosed()
}

func TestClientCloseFrameIsAnswered(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	gone := make(chan struct{})
	_ = s.On("disconnect", func(...any) { close(gone) })
	msg := ws.FormatCloseMessage(ws.CloseNormalClosure, "bye")
	if err := c.c.WriteControl(ws.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.next()
	if !ws.IsCloseError(err, ws.CloseNormalClosure) {
		t.Fatalf("want the close frame echoed, got %v", err)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("socket not disconnected")
	}
}

// writeAck answers s's event id with Write, as iohub answers its clients' callbacks.
func writeAck(s *socket.Socket, id uint64, data ...any) {
	Write(s, &parser.Packet{Type: parser.ACK, Id: &id, Data: data})
}

// withIohubParser configures iohub's parser, which encodes text packets straight into
// their frames.
func withIohubParser(o *socket.ServerOptions) { o.SetParser(sioparser.New()) }

func TestWriteKeepsOrderWithBroadcastsAndEmits(t *testing.T) {
	for name, configure := range map[string]func(*socket.ServerOptions){"library parser": nil, "iohub parser": withIohubParser} {
		t.Run(name, func(t *testing.T) { testWriteKeepsOrder(t, configure) })
	}
}

func testWriteKeepsOrder(t *testing.T, configure func(*socket.ServerOptions)) {
	ts := newTestServer(t, configure)
	c, s := ts.connect(t)
	s.Join("room")
	for i := range 50 {
		_ = ts.io.To("room").Emit("room", i)
		writeAck(s, uint64(i), "ack", i)
		_ = s.Emit("direct", i)
	}
	writeAck(s, 99, []byte{1}) // binary attachments go through the engine, in order
	for i := range 50 {
		c.expectPrefix(ws.TextMessage, fmt.Sprintf(`42["room",%d]`, i))
		c.expectPrefix(ws.TextMessage, fmt.Sprintf(`43%d["ack",%d]`, i, i))
		c.expectPrefix(ws.TextMessage, fmt.Sprintf(`42["direct",%d]`, i))
	}
	c.expectPrefix(ws.TextMessage, `461-99[{"_placeholder":true,"num":0}]`)
	if got := c.expectPrefix(ws.BinaryMessage, ""); !bytes.Equal(got, []byte{1}) {
		t.Fatalf("binary attachment %v", got)
	}
}

func TestWriteOverPollingGoesThroughTheEngine(t *testing.T) {
	ts := newTestServer(t, withIohubParser)
	base, _ := pollingSession(t, ts)
	s := <-ts.connected
	writeAck(s, 5, "polled")
	if got := httpGet(t, base); got != `435["polled"]` {
		t.Fatalf("poll got %q, want the ack", got)
	}
}

func TestWriteAfterDisconnectSendsNothing(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	s.Disconnect(true)
	writeAck(s, 1, "late")
	c.expectPrefix(ws.TextMessage, "41")
	c.expectClosed()
}

// A text packet is encoded straight into its frame: one allocation with iohub's parser.
func TestEncodeMessageInPlace(t *testing.T) {
	enc := sioparser.New().NewEncoder()
	p := &parser.Packet{Type: parser.ACK, Nsp: "/chat", Id: new(uint64(12)), Data: []any{"ok"}}
	m, ok := encodeMessage(enc, p)
	if want := "\x81\x10" + `43/chat,12["ok"]`; !ok || string(m.frame) != want || string(m.text) != want[3:] {
		t.Fatalf("frame %q text %q ok %v, want %q", m.frame, m.text, ok, want)
	}
	if n := testing.AllocsPerRun(100, func() { encodeMessage(enc, p) }); n > 1 {
		t.Fatalf("%v allocations, want 1", n)
	}
	long := &parser.Packet{Type: parser.EVENT, Data: []any{strings.Repeat("x", 70000)}}
	if m, ok := encodeMessage(enc, long); !ok || !bytes.Equal(m.frame[:10], []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x76}) {
		t.Fatalf("long frame header % x", m.frame[:10])
	}
}

func TestPollingUpgradesToWebSocket(t *testing.T) {
	ts := newTestServer(t, nil)
	_, sid := pollingSession(t, ts)
	s := <-ts.connected

	c := ts.dial(t, sid)
	c.send("2probe")
	c.expectPrefix(ws.TextMessage, "3probe")
	c.send("5")
	// After the upgrade packet the socket writes on the websocket.
	deadline := time.Now().Add(5 * time.Second)
	for s.Conn().Transport().Name() != "websocket" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	_ = s.Emit("upgraded", true)
	s.Join("room")
	_ = ts.io.To("room").Emit("broadcast", 1)
	_ = ts.io.To("room").Emit("broadcast", 2)
	for {
		msg := c.expectPrefix(ws.TextMessage, "")
		if string(msg) == `42["upgraded",true]` {
			c.expectPrefix(ws.TextMessage, `42["broadcast",1]`)
			c.expectPrefix(ws.TextMessage, `42["broadcast",2]`)
			return
		}
		if string(msg) != "6" { // noop packets may still arrive
			t.Fatalf("unexpected %q", msg)
		}
	}
}

// pollingSession opens a polling session connected to namespace "/" and returns its
// polling URL and session id.
func pollingSession(t *testing.T, ts *testServer) (u, sid string) {
	t.Helper()
	base := ts.srv.URL + "/socket.io/?EIO=4&transport=polling"
	open := httpGet(t, base)
	i := strings.Index(open, `"sid":"`)
	if !strings.HasPrefix(open, "0{") || i < 0 {
		t.Fatalf("handshake %q", open)
	}
	sid = open[i+7 : i+7+strings.IndexByte(open[i+7:], '"')]
	u = base + "&sid=" + sid
	httpPost(t, u, "40")
	if got := httpGet(t, u); !strings.HasPrefix(got, "40{") {
		t.Fatalf("connect reply %q", got)
	}
	return u, sid
}

// pollClient bounds each polling request, so a poll the server never answers fails its
// test with the URL instead of hanging the whole run until go test's timeout.
var pollClient = &http.Client{Timeout: 10 * time.Second}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := pollClient.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func httpPost(t *testing.T, u, body string) {
	t.Helper()
	resp, err := pollClient.Post(u, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", u, resp.Status)
	}
}

func TestAppendFrameHeaders(t *testing.T) {
	for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000} {
		payload := bytes.Repeat([]byte{'a'}, n)
		f := appendFrame(nil, opText, payload)
		if f[0] != finBit|opText {
			t.Fatalf("n=%d: first byte %#x", n, f[0])
		}
		var hdr int
		switch {
		case n < 126:
			hdr = 2
			if int(f[1]) != n {
				t.Fatalf("n=%d: length byte %d", n, f[1])
			}
		case n <= 0xFFFF:
			hdr = 4
			if f[1] != 126 || int(binary.BigEndian.Uint16(f[2:])) != n {
				t.Fatalf("n=%d: header %v", n, f[:4])
			}
		default:
			hdr = 10
			if f[1] != 127 || int(binary.BigEndian.Uint64(f[2:])) != n {
				t.Fatalf("n=%d: header %v", n, f[:10])
			}
		}
		if len(f) != hdr+n {
			t.Fatalf("n=%d: frame length %d", n, len(f))
		}
	}
}

func TestFrameCacheSharesOneFramePerBroadcast(t *testing.T) {
	var c frameCache
	a := types.NewStringBufferString("42[\"a\"]")
	b := types.NewBytesBuffer([]byte{1, 2})
	fa := c.frame(a)
	if &c.frame(a)[0] != &fa[0] {
		t.Fatal("the same pre-encoded packet got a second frame")
	}
	fb := c.frame(b)
	if fb[0] != finBit|opBinary || fa[0] != finBit|opText {
		t.Fatalf("opcodes %#x %#x", fa[0], fb[0])
	}
	for i := range frameCacheSize * 2 {
		c.frame(types.NewStringBufferString(fmt.Sprint(i)))
	}
	if got := c.frame(a); &got[0] == &fa[0] || !bytes.Equal(got, fa) {
		t.Fatal("an evicted entry must be rebuilt, equal to the first frame")
	}
}

func TestReleasingWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &releasingWriter{rw: rec}
	w.Header().Set("X-Test", "1")
	w.WriteHeader(http.StatusTeapot)
	if _, err := w.Write([]byte("body")); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusTeapot || rec.Body.String() != "body" || rec.Header().Get("X-Test") != "1" {
		t.Fatalf("not forwarded: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	if _, _, err := w.Hijack(); err != errNoHijacker {
		t.Fatalf("hijack of a recorder: %v", err)
	}
}

func TestReleasingWriterForgetsTheResponseAfterHijack(t *testing.T) {
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		w := &releasingWriter{rw: rw}
		conn, _, err := w.Hijack()
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = conn.Close() }()
		switch {
		case w.writer() != nil:
			done <- fmt.Errorf("response writer still held")
		case len(w.Header()) != 0:
			done <- fmt.Errorf("header after hijack %v", w.Header())
		default:
			_, err := w.Write([]byte("x"))
			if err != http.ErrHijacked {
				done <- fmt.Errorf("write after hijack: %v", err)
				return
			}
			_, _, err = w.Hijack()
			if err != http.ErrHijacked {
				done <- fmt.Errorf("second hijack: %v", err)
				return
			}
			done <- nil
		}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		_ = resp.Body.Close()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The transport takes the upgrade response from the hijacked connection and queues it
// ahead of the open packet (every dial here reads it first); until then the connection
// holds it back.
func TestHeldConnHoldsTheFirstWriteUntilTaken(t *testing.T) {
	server, client := net.Pipe()
	defer func() { _ = client.Close() }()
	c := &heldConn{Conn: server}
	// net.Pipe has no buffer: a write that reached it would block until client reads.
	if n, err := c.Write([]byte("HTTP/1.1 101")); n != 12 || err != nil {
		t.Fatalf("first write: %d %v", n, err)
	}
	if held := c.takeHeld(); string(held) != "HTTP/1.1 101" {
		t.Fatalf("held %q", held)
	}
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, _ := io.ReadFull(client, b[:5])
		got <- string(b[:n])
	}()
	if _, err := c.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "frame" {
		t.Fatalf("after takeHeld the connection got %q", s)
	}
}

// When no transport takes the upgrade response (a handler other than the engine's
// websocket transport upgraded the request), it is sent ahead of the next write, or once
// the handler returns.
func TestUpgradeResponseSentWithoutTransport(t *testing.T) {
	conns := make(chan *ws.Conn, 1)
	up := ws.Upgrader{}
	srv := httptest.NewServer(ReleaseOnHijack(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		if r.URL.Query().Has("greet") {
			_ = c.WriteMessage(ws.TextMessage, []byte("hello"))
		}
		conns <- c
	})))
	defer srv.Close()
	d := ws.Dialer{HandshakeTimeout: 10 * time.Second}
	for _, query := range []string{"", "?greet"} {
		c, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/"+query, nil)
		if err != nil {
			t.Fatalf("dial %q: %v", query, err)
		}
		_ = resp.Body.Close()
		if query != "" {
			if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "hello" {
				t.Fatalf("message %q %v", msg, err)
			}
		}
		_ = c.Close()
		_ = (<-conns).Close()
	}
}
