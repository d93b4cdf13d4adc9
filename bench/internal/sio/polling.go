package sio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// recordSeparator separates Engine.IO 4 packets in one long-polling payload.
const recordSeparator = 0x1e

// pollTimeout bounds one long-poll GET; the server answers within its ping interval.
const pollTimeout = 90 * time.Second

// PollingClient is the HTTP client that long-polling connections share.
type PollingClient struct {
	http *http.Client
}

// NewPollingClient returns a client able to keep conns long-polling connections open
// (each needs two HTTP connections: the pending GET and the POSTs).
func NewPollingClient(conns int) *PollingClient {
	tr := &http.Transport{
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &PollingClient{http: &http.Client{Transport: tr, Timeout: pollTimeout}}
}

// CloseIdle releases the idle HTTP connections.
func (p *PollingClient) CloseIdle() { p.http.CloseIdleConnections() }

// pollTransport is Engine.IO 4 over HTTP long-polling: GETs read, POSTs write.
type pollTransport struct {
	pc     *PollingClient
	url    string
	ctx    context.Context
	cancel context.CancelFunc
	wmu    sync.Mutex
}

// open performs the Engine.IO handshake GET and returns the session's transport.
func (p *PollingClient) open(ctx context.Context, base string) (*pollTransport, error) {
	url := base + "/socket.io/?EIO=4&transport=polling"
	body, err := p.do(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("sio: polling handshake: %w", err)
	}
	if len(body) == 0 || body[0] != '0' {
		return nil, fmt.Errorf("sio: expected open packet, got %q", body)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(bytes.SplitN(body[1:], []byte{recordSeparator}, 2)[0], &open); err != nil {
		return nil, fmt.Errorf("sio: decode open packet: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	return &pollTransport{pc: p, url: url + "&sid=" + open.SID, ctx: runCtx, cancel: cancel}, nil
}

func (p *PollingClient) do(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build %s request: %w", method, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read body: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: status %d: %s", method, resp.StatusCode, data)
	}
	return data, nil
}

func (t *pollTransport) write(pkt []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, writeTimeout)
	defer cancel()
	if _, err := t.pc.do(ctx, http.MethodPost, t.url, pkt); err != nil {
		return fmt.Errorf("sio: polling write: %w", err)
	}
	return nil
}

func (t *pollTransport) run(onPacket func([]byte)) error {
	for {
		body, err := t.pc.do(t.ctx, http.MethodGet, t.url, nil)
		if err != nil {
			return fmt.Errorf("sio: poll: %w", err)
		}
		for _, pkt := range bytes.Split(body, []byte{recordSeparator}) {
			onPacket(pkt)
			if t.ctx.Err() != nil {
				return ErrClosed
			}
		}
	}
}

func (t *pollTransport) close() error {
	if t.ctx.Err() != nil {
		return nil
	}
	err := t.write([]byte{'1'})
	t.cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
