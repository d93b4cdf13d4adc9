//go:build linux

package sio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// maxFrame bounds one WebSocket frame or message read by the poller.
const maxFrame = 16 << 20

// Poller reads the WebSocket frames of many connections on one goroutine with level-triggered
// epoll: one read per ready connection and no goroutine wake-up per frame. A receiver then
// costs the load tool about half the CPU per packet of a goroutine per connection, which keeps
// the tool faster than the servers it measures.
//
// The loop waits for the epoll descriptor in Go's network poller rather than in a blocking
// epoll_wait: on one core (the load tool runs pinned to one) a thread blocked in epoll_wait
// holds the only P until the runtime's sysmon takes it back, so the goroutines with replies
// to send stalled meanwhile. That stall made a single load process, not the server, set the
// conns scenario's pace: two load processes on the same core connected 1.5x as fast.
type Poller struct {
	epfd  int
	ep    *os.File        // epfd, registered with Go's network poller; owns the descriptor
	epRaw syscall.RawConn // ep's, for waiting on it
	wake  [2]int          // pipe: a byte on wake[1] stops the loop
	mu    sync.Mutex
	conns map[int]*polled
	done  chan struct{}
	once  sync.Once
}

// polled is one connection served by the poller.
type polled struct {
	fd       int
	t        *wsTransport
	onPacket func([]byte)
	ended    chan error // receives the reason the connection left the poller
	pending  []byte     // bytes of an incomplete frame
	message  []byte     // a fragmented message being assembled
}

// NewPoller starts a poller; Close stops it.
func NewPoller() (*Poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("sio: epoll_create1: %w", err)
	}
	p := &Poller{epfd: epfd, conns: make(map[int]*polled), done: make(chan struct{})}
	if err := syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("sio: pipe2: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wake[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("sio: epoll_ctl wake: %w", err)
	}
	if err := p.pollable(); err != nil {
		p.closeFDs()
		return nil, err
	}
	go p.loop()
	return p, nil
}

// Close stops the poller; connections still attached end with ErrClosed.
func (p *Poller) Close() {
	p.once.Do(func() {
		_, _ = syscall.Write(p.wake[1], []byte{0})
		<-p.done
		p.mu.Lock()
		for _, pc := range p.conns {
			p.remove(pc, ErrClosed)
		}
		p.mu.Unlock()
		p.closeFDs()
	})
}

// pollable hands the epoll descriptor to Go's network poller (an epoll descriptor is
// readable while events are ready); from then on p.ep owns it.
func (p *Poller) pollable() error {
	if err := syscall.SetNonblock(p.epfd, true); err != nil {
		return fmt.Errorf("sio: epoll descriptor non-blocking: %w", err)
	}
	ep := os.NewFile(uintptr(p.epfd), "sio-epoll")
	raw, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		p.epfd = -1
		return fmt.Errorf("sio: epoll descriptor: %w", err)
	}
	p.ep, p.epRaw = ep, raw
	return nil
}

func (p *Poller) closeFDs() {
	if p.ep != nil {
		_ = p.ep.Close()
	} else if p.epfd >= 0 {
		_ = syscall.Close(p.epfd)
	}
	for _, fd := range p.wake {
		_ = syscall.Close(fd)
	}
}

// wait returns the events ready on the epoll descriptor, parking in Go's network poller
// until there are some.
func (p *Poller) wait(events []syscall.EpollEvent) (n int, err error) {
	if rerr := p.epRaw.Read(func(fd uintptr) bool {
		n, err = syscall.EpollWait(int(fd), events, 0)
		return n > 0 || (err != nil && !errors.Is(err, syscall.EINTR))
	}); rerr != nil {
		return 0, fmt.Errorf("sio: waiting on epoll: %w", rerr)
	}
	return n, err
}

// serve reads t's frames on the poller until the connection ends.
func (p *Poller) serve(t *wsTransport, onPacket func([]byte)) error {
	pc := &polled{fd: t.fd, t: t, onPacket: onPacket, ended: make(chan error, 1)}
	p.mu.Lock()
	if t.closed || p.stopped() {
		p.mu.Unlock()
		return ErrClosed
	}
	p.conns[pc.fd] = pc
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(pc.fd)}
	err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, pc.fd, &ev)
	if err != nil {
		delete(p.conns, pc.fd)
	}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("sio: epoll_ctl add: %w", err)
	}
	return <-pc.ended
}

func (p *Poller) stopped() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// release marks t closed and takes it out of the poller; call it before closing t's
// descriptor, so that a reused descriptor number is never read for the old connection.
func (p *Poller) release(t *wsTransport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t.closed = true
	if pc := p.conns[t.fd]; pc != nil && pc.t == t {
		p.remove(pc, ErrClosed)
	}
}

// detach takes fd out of the poller because its connection failed.
func (p *Poller) detach(fd int, reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc := p.conns[fd]; pc != nil {
		p.remove(pc, reason)
	}
}

// remove unregisters pc and ends its serve call with reason; p.mu is held.
func (p *Poller) remove(pc *polled, reason error) {
	delete(p.conns, pc.fd)
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, pc.fd, nil)
	pc.ended <- reason
}

func (p *Poller) loop() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	for {
		n, err := p.wait(events)
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == p.wake[0] {
				return
			}
			p.service(int(ev.Fd), buf)
		}
	}
}

// service reads once from a ready connection and dispatches the complete frames.
func (p *Poller) service(fd int, buf []byte) {
	p.mu.Lock()
	pc := p.conns[fd]
	var n int
	var err error
	if pc != nil {
		n, err = syscall.Read(fd, buf)
	}
	p.mu.Unlock()
	switch {
	case pc == nil || errors.Is(err, syscall.EAGAIN):
		return
	case err != nil:
		p.detach(fd, fmt.Errorf("sio: read: %w", err))
		return
	case n == 0:
		p.detach(fd, fmt.Errorf("sio: read: %w", io.EOF))
		return
	}
	if err := pc.feed(buf[:n]); err != nil {
		p.detach(fd, err)
	}
}

// feed parses the frames in data (after what is pending from earlier reads).
func (pc *polled) feed(data []byte) error {
	if len(pc.pending) > 0 {
		pc.pending = append(pc.pending, data...)
		data = pc.pending
	}
	for {
		op, fin, payload, rest, ok, err := nextFrame(data)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		data = rest
		if err := pc.frame(op, fin, payload); err != nil {
			return err
		}
	}
	pc.pending = append(pc.pending[:0], data...)
	return nil
}

// nextFrame splits the first complete unmasked frame off data; ok is false when data holds
// only part of one.
func nextFrame(data []byte) (op byte, fin bool, payload, rest []byte, ok bool, err error) {
	if len(data) < 2 {
		return 0, false, nil, data, false, nil
	}
	if data[1]&0x80 != 0 {
		return 0, false, nil, nil, false, errors.New("sio: masked frame from server")
	}
	size, hdr := uint64(data[1]&0x7f), 2
	switch size {
	case 126:
		if len(data) < 4 {
			return 0, false, nil, data, false, nil
		}
		size, hdr = uint64(binary.BigEndian.Uint16(data[2:4])), 4
	case 127:
		if len(data) < 10 {
			return 0, false, nil, data, false, nil
		}
		size, hdr = binary.BigEndian.Uint64(data[2:10]), 10
	}
	if size > maxFrame {
		return 0, false, nil, nil, false, fmt.Errorf("sio: frame of %d bytes", size)
	}
	end := hdr + int(size)
	if len(data) < end {
		return 0, false, nil, data, false, nil
	}
	return data[0] & 0x0f, data[0]&0x80 != 0, data[hdr:end], data[end:], true, nil
}

// frame handles one frame: data frames become packets, pings get pongs, close ends.
func (pc *polled) frame(op byte, fin bool, payload []byte) error {
	switch op {
	case websocket.TextMessage, websocket.BinaryMessage:
		if fin {
			pc.onPacket(payload)
			return nil
		}
		pc.message = append(pc.message[:0], payload...)
	case 0: // continuation
		if len(pc.message)+len(payload) > maxFrame {
			return errors.New("sio: message too large")
		}
		pc.message = append(pc.message, payload...)
		if fin {
			pc.onPacket(pc.message)
			pc.message = pc.message[:0]
		}
	case websocket.PingMessage:
		if err := pc.t.conn.WriteControl(websocket.PongMessage, payload, time.Now().Add(writeTimeout)); err != nil {
			return fmt.Errorf("sio: pong: %w", err)
		}
	case websocket.CloseMessage:
		return fmt.Errorf("sio: server closed: %w", io.EOF)
	}
	return nil
}
