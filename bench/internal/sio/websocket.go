package sio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// writeTimeout bounds one blocked write, so a stuck server cannot hang a load run.
const writeTimeout = 10 * time.Second

var wsDialer = &websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   4096,
	WriteBufferSize:  1024,
}

// wsTransport is Engine.IO 4 over one WebSocket: one packet per text frame. Its frames are
// read by its own goroutine, or by a Poller when one is given.
type wsTransport struct {
	conn *websocket.Conn
	wmu  sync.Mutex

	poller *Poller
	fd     int  // the socket's descriptor, for the poller
	closed bool // guarded by poller.mu
}

// dialWebSocket connects and reads the Engine.IO open packet; poller may be nil.
func dialWebSocket(ctx context.Context, base string, poller *Poller) (*wsTransport, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, resp, err := wsDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("sio: dial %s: %w", url, err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	t := &wsTransport{conn: conn, poller: poller}
	if err := readOpen(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if poller != nil {
		if t.fd, err = socketFD(conn); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return t, nil
}

// socketFD returns the descriptor under conn.
func socketFD(conn *websocket.Conn) (int, error) {
	sc, ok := conn.NetConn().(syscall.Conn)
	if !ok {
		return 0, errors.New("sio: connection has no descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("sio: raw conn: %w", err)
	}
	fd := -1
	if err := raw.Control(func(f uintptr) { fd = int(f) }); err != nil {
		return 0, fmt.Errorf("sio: raw conn: %w", err)
	}
	return fd, nil
}

func readOpen(ctx context.Context, conn *websocket.Conn) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(wsDialer.HandshakeTimeout)
	}
	if err := conn.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("sio: set deadline: %w", err)
	}
	_, open, err := conn.ReadMessage()
	if err != nil {
		return fmt.Errorf("sio: read open packet: %w", err)
	}
	if len(open) == 0 || open[0] != '0' {
		return fmt.Errorf("sio: expected open packet, got %q", open)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("sio: clear deadline: %w", err)
	}
	return nil
}

func (t *wsTransport) write(pkt []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if err := t.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("sio: set write deadline: %w", err)
	}
	if err := t.conn.WriteMessage(websocket.TextMessage, pkt); err != nil {
		return fmt.Errorf("sio: write: %w", err)
	}
	return nil
}

func (t *wsTransport) run(onPacket func([]byte)) error {
	if t.poller != nil {
		return t.poller.serve(t, onPacket)
	}
	var buf bytes.Buffer
	for {
		_, r, err := t.conn.NextReader()
		if err != nil {
			return fmt.Errorf("sio: read: %w", err)
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return fmt.Errorf("sio: read frame: %w", err)
		}
		onPacket(buf.Bytes())
	}
}

func (t *wsTransport) close() error {
	if t.poller != nil {
		t.poller.release(t)
	}
	if err := t.conn.Close(); err != nil {
		return fmt.Errorf("sio: close: %w", err)
	}
	return nil
}
