// Package sio is a minimal Socket.IO v5 (Engine.IO 4) client for load generation: the default
// namespace, text packets only, events and acks, over WebSocket or HTTP long-polling. It keeps
// per-packet work small so that one core can drive a server at full speed.
package sio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// Transport names accepted by Options.Transport.
const (
	WebSocket = "websocket"
	Polling   = "polling"
)

// EventHandler receives each server event as its JSON argument array, e.g.
// `["new_message",{...}]`. The slice is valid only during the call. Handlers run on the
// connection's read goroutine, one at a time, in arrival order.
type EventHandler func(args []byte)

// AckHandler receives the JSON argument array of an ack, e.g. `[{"success":true}]`.
// The slice is valid only during the call.
type AckHandler func(args []byte)

// Options says where and how to connect.
type Options struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:3000.
	URL string
	// Transport is WebSocket (default) or Polling.
	Transport string
	// Token is sent in the CONNECT auth payload as {"token": Token}.
	Token string
	// OnEvent, when set, receives every server event.
	OnEvent EventHandler
	// Polling is the HTTP client shared by long-polling connections.
	Polling *PollingClient
	// Poller, when set, reads WebSocket connections instead of a goroutine each.
	Poller *Poller
}

// transport moves encoded Engine.IO packets.
type transport interface {
	// write sends one encoded Engine.IO packet, e.g. `42["x"]`.
	write(pkt []byte) error
	// run reads packets until the connection ends, calling onPacket for each one.
	run(onPacket func(pkt []byte)) error
	// close ends the connection; run returns soon after.
	close() error
}

// Client is one Socket.IO connection to the default namespace.
type Client struct {
	tr        transport
	onEvent   EventHandler
	connected chan error
	done      chan struct{}

	mu      sync.Mutex
	nextAck uint64
	pending map[uint64]AckHandler
	once    sync.Once
}

// ErrClosed is returned for acks and writes on a closed connection.
var ErrClosed = errors.New("sio: connection closed")

// Dial opens the transport, sends CONNECT with the token and waits for the server's answer.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	tr, err := openTransport(ctx, opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		tr:        tr,
		onEvent:   opts.OnEvent,
		connected: make(chan error, 1),
		done:      make(chan struct{}),
		pending:   make(map[uint64]AckHandler),
	}
	go c.readLoop()
	if err := c.connect(ctx, opts.Token); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func openTransport(ctx context.Context, opts Options) (transport, error) {
	switch opts.Transport {
	case "", WebSocket:
		return dialWebSocket(ctx, opts.URL, opts.Poller)
	case Polling:
		if opts.Polling == nil {
			return nil, errors.New("sio: polling transport needs Options.Polling")
		}
		return opts.Polling.open(ctx, opts.URL)
	default:
		return nil, fmt.Errorf("sio: unknown transport %q", opts.Transport)
	}
}

func (c *Client) connect(ctx context.Context, token string) error {
	auth, err := json.Marshal(map[string]string{"token": token})
	if err != nil {
		return fmt.Errorf("sio: encode auth: %w", err)
	}
	if err := c.tr.write(append([]byte("40"), auth...)); err != nil {
		return fmt.Errorf("sio: send CONNECT: %w", err)
	}
	select {
	case err := <-c.connected:
		return err
	case <-c.done:
		return fmt.Errorf("sio: connection ended before CONNECT reply: %w", ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("sio: waiting for CONNECT reply: %w", ctx.Err())
	}
}

// Close ends the connection and waits for its read goroutine to exit.
func (c *Client) Close() {
	c.once.Do(func() { _ = c.tr.close() })
	<-c.done
}

// EmitAck sends an event asking for an ack; onAck runs on the read goroutine when the ack
// arrives, and never if the connection ends first.
func (c *Client) EmitAck(args []byte, onAck AckHandler) error {
	c.mu.Lock()
	c.nextAck++
	id := c.nextAck
	c.pending[id] = onAck
	c.mu.Unlock()
	pkt := make([]byte, 0, len(args)+24)
	pkt = strconv.AppendUint(append(pkt, '4', '2'), id, 10)
	if err := c.tr.write(append(pkt, args...)); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return err
	}
	return nil
}

// Call sends an event and waits for its ack, returning a copy of the ack's argument array.
func (c *Client) Call(ctx context.Context, args []byte) ([]byte, error) {
	reply := make(chan []byte, 1)
	if err := c.EmitAck(args, func(a []byte) { reply <- bytes.Clone(a) }); err != nil {
		return nil, err
	}
	select {
	case r := <-reply:
		return r, nil
	case <-c.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("sio: waiting for ack: %w", ctx.Err())
	}
}

func (c *Client) readLoop() {
	defer close(c.done)
	err := c.tr.run(c.onPacket)
	select {
	case c.connected <- fmt.Errorf("sio: connection ended: %w", err):
	default:
	}
}

// onPacket handles one Engine.IO packet.
func (c *Client) onPacket(pkt []byte) {
	if len(pkt) == 0 {
		return
	}
	switch pkt[0] {
	case '2': // ping
		_ = c.tr.write([]byte{'3'})
	case '1': // close
		_ = c.tr.close()
	case '4': // message: a Socket.IO packet
		c.onSocketPacket(pkt[1:])
	}
}

// onSocketPacket handles one Socket.IO packet of the default namespace.
func (c *Client) onSocketPacket(p []byte) {
	if len(p) == 0 {
		return
	}
	body := p[1:]
	switch p[0] {
	case '0': // CONNECT reply
		c.signalConnected(nil)
	case '4': // CONNECT_ERROR
		c.signalConnected(fmt.Errorf("sio: connect refused: %s", body))
	case '2': // EVENT, maybe with an ack id we do not answer
		if c.onEvent != nil {
			_, args := splitAckID(body)
			c.onEvent(args)
		}
	case '3': // ACK
		id, args := splitAckID(body)
		c.mu.Lock()
		h := c.pending[id]
		delete(c.pending, id)
		c.mu.Unlock()
		if h != nil {
			h(args)
		}
	case '1': // DISCONNECT
		_ = c.tr.close()
	}
}

func (c *Client) signalConnected(err error) {
	select {
	case c.connected <- err:
	default:
	}
}

// splitAckID splits `12[...]` into 12 and `[...]`.
func splitAckID(b []byte) (uint64, []byte) {
	var id uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		id = id*10 + uint64(b[i]-'0')
	}
	return id, b[i:]
}
