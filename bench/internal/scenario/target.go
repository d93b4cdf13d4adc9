// Package scenario holds the load scenarios: conns, fanout, acks and join-storm. Each one is
// bounded in time and in count, stops by itself, and returns a result.Run.
package scenario

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/iohub/iohub/bench/internal/sio"
	"github.com/iohub/iohub/bench/internal/stats"
)

// Target is the server under test and how to reach it.
type Target struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:3000.
	URL string
	// Secret signs the HS256 tokens the clients present.
	Secret []byte
	// Transport is sio.WebSocket or sio.Polling.
	Transport string
	// ServerPID, when not 0, is read for memory and CPU time.
	ServerPID int
	// ConnectTimeout bounds one connection's dial, CONNECT and join.
	ConnectTimeout time.Duration
	// Epoll reads WebSocket connections with one epoll goroutine (sio.Poller) instead of a
	// goroutine per connection.
	Epoll bool

	polling *sio.PollingClient
	poller  *sio.Poller
}

// prepare sets up what conns connections share: the long-polling HTTP client or the poller.
func (t *Target) prepare(conns int) error {
	switch {
	case t.Transport == sio.Polling:
		t.polling = sio.NewPollingClient(conns)
	case t.Epoll:
		p, err := sio.NewPoller()
		if err != nil {
			return err
		}
		t.poller = p
	}
	return nil
}

// release frees what prepare set up, once every connection is closed.
func (t *Target) release() {
	if t.polling != nil {
		t.polling.CloseIdle()
	}
	if t.poller != nil {
		t.poller.Close()
	}
}

// token mints an HS256 token for user sub, valid for an hour.
func (t *Target) token(sub string) (string, error) {
	claims := jwt.MapClaims{"sub": sub, "name": "User " + sub, "exp": time.Now().Add(time.Hour).Unix()}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.Secret)
	if err != nil {
		return "", fmt.Errorf("sign token for %s: %w", sub, err)
	}
	return s, nil
}

// dial connects user sub with its own token.
func (t *Target) dial(ctx context.Context, sub string, onEvent sio.EventHandler) (*sio.Client, error) {
	token, err := t.token(sub)
	if err != nil {
		return nil, err
	}
	c, err := sio.Dial(ctx, sio.Options{URL: t.URL, Transport: t.Transport, Token: token, OnEvent: onEvent, Polling: t.polling, Poller: t.poller})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", sub, err)
	}
	return c, nil
}

// dialJoined connects user sub and joins it to room, waiting for the join ack.
func (t *Target) dialJoined(ctx context.Context, sub, room string, onEvent sio.EventHandler) (*sio.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, t.ConnectTimeout)
	defer cancel()
	c, err := t.dial(ctx, sub, onEvent)
	if err != nil {
		return nil, err
	}
	if _, err := call(ctx, c, joinFrame(room)); err != nil {
		c.Close()
		return nil, fmt.Errorf("%s join %s: %w", sub, room, err)
	}
	return c, nil
}

// reply is the part of a protocol reply object the scenarios read.
type reply struct {
	Success bool   `json:"success"`
	Code    string `json:"code"`
	Error   string `json:"error"`
	Count   int    `json:"count"`
}

// call emits args with an ack and fails unless the reply says success.
func call(ctx context.Context, c *sio.Client, args []byte) (reply, error) {
	raw, err := c.Call(ctx, args)
	if err != nil {
		return reply{}, err
	}
	var r [1]reply
	if err := json.Unmarshal(raw, &r); err != nil {
		return reply{}, fmt.Errorf("decode reply %q: %w", raw, err)
	}
	if !r[0].Success {
		return r[0], fmt.Errorf("refused: %s: %s", r[0].Code, r[0].Error)
	}
	return r[0], nil
}

// acked reports whether an ack's argument array carries success: true.
func acked(args []byte) bool { return bytes.Contains(args, []byte(`"success":true`)) }

// joinFrame is the argument array of join_room for room, asking for no history.
func joinFrame(room string) []byte {
	return []byte(`["join_room",{"roomId":` + strconv.Quote(room) + `,"historyLimit":0}]`)
}

// connectAll opens n connections, concurrency at a time, with open(i) for the i-th. On the
// first failure it stops, closes what it opened and returns the error.
func connectAll(ctx context.Context, n, concurrency int, open func(ctx context.Context, i int) (*sio.Client, error)) ([]*sio.Client, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clients := make([]*sio.Client, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				c, err := open(ctx, i)
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					cancel()
					return
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		closeAll(clients)
		return nil, firstErr
	}
	return clients, nil
}

// closeAll closes every connection that is not nil.
func closeAll(clients []*sio.Client) {
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
}

// waitQuiet waits until counter has not moved for quiet, or until limit has passed.
func waitQuiet(ctx context.Context, counter *atomic.Uint64, quiet, limit time.Duration) {
	const step = 50 * time.Millisecond
	deadline := time.Now().Add(limit)
	last, still := counter.Load(), time.Duration(0)
	for still < quiet && time.Now().Before(deadline) {
		if sleep(ctx, step) != nil {
			return
		}
		if n := counter.Load(); n != last {
			last, still = n, 0
			continue
		}
		still += step
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// measureCPU starts a CPU meter on the target's server.
func (t *Target) measureCPU() *stats.CPUMeter { return stats.StartCPU(t.ServerPID) }
