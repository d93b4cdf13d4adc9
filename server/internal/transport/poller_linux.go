//go:build linux

package transport

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iohub/iohub/internal/stackpad"
)

// poller waits for input on idle connections with one epoll goroutine, so an idle
// connection has no reader goroutine (and no goroutine stack): its reader parks it here
// when nothing is buffered and returns; when input arrives the poller starts a new reader.
// The zero poller is ready to use; it starts its goroutine on the first park, and Close
// stops it.
type poller struct {
	// handoff passes a connection with input to a reader goroutine waiting for one (see
	// reader); unbuffered: with none waiting, the loop starts a new goroutine.
	handoff chan *websocket

	mu      sync.Mutex
	started bool
	closed  bool
	epfd    int
	ep      *os.File        // epfd, registered with Go's network poller
	epRaw   syscall.RawConn // ep's, for waiting on it
	wake    int             // eventfd written by Close to stop the loop
	parked  map[int]*websocket
	done    chan struct{} // closed when the loop has exited
}

// park registers w to get a new reader once its connection has input, and reports
// whether it did; when it did, the calling reader must return without touching w's
// reading state again. false (the poller is closed or failed, or w's connection was
// forgotten or has no descriptor) means: keep reading.
func (p *poller) park(w *websocket) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || w.fd < 0 || w.forgotten {
		return false
	}
	if err := p.startLocked(); err != nil {
		return false
	}
	op := unix.EPOLL_CTL_MOD
	if !w.registered {
		op = unix.EPOLL_CTL_ADD
	}
	// One-shot: the descriptor reports once, then stays quiet until parked again. Epoll
	// checks readiness when the descriptor is (re)armed, so input that arrived before
	// this call is not missed.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(w.fd)}
	if err := unix.EpollCtl(p.epfd, op, w.fd, &ev); err != nil {
		return false
	}
	w.registered = true
	p.parked[w.fd] = w
	return true
}

// forget takes w out of the poller for good; call it before closing w's connection, so
// that a descriptor number reused by a later connection is never taken for w.
func (p *poller) forget(w *websocket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.forgotten = true
	if w.registered && !p.closed { // once closed, epfd is (being) closed with all it holds
		_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
		w.registered = false
	}
	if p.parked[w.fd] == w {
		delete(p.parked, w.fd)
	}
}

// startLocked starts the loop on first use. Call with p.mu held.
func (p *poller) startLocked() error {
	if p.started {
		return nil
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(wake)
		return fmt.Errorf("epoll_ctl wake: %w", err)
	}
	ep, epRaw, err := pollable(epfd)
	if err != nil {
		_ = unix.Close(wake)
		return err
	}
	p.started = true
	p.epfd, p.ep, p.epRaw, p.wake = epfd, ep, epRaw, wake
	p.parked = make(map[int]*websocket)
	p.done = make(chan struct{})
	p.handoff = make(chan *websocket)
	go p.loop()
	return nil
}

// loop starts a reader for each parked connection that gets input, until Close (or a
// failing epoll_wait) stops it; the connections still parked then get their readers back.
func (p *poller) loop() {
	defer close(p.done)
	defer p.release()
	events := make([]unix.EpollEvent, 128)
	var ready []*websocket
	for {
		n, err := p.wait(events)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		stop := false
		p.mu.Lock()
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == p.wake {
				stop = true
				continue
			}
			if w := p.parked[fd]; w != nil {
				delete(p.parked, fd)
				ready = append(ready, w)
			}
		}
		p.mu.Unlock()
		for i, w := range ready {
			select {
			case p.handoff <- w:
			default:
				go p.reader(w)
			}
			ready[i] = nil
		}
		ready = ready[:0]
		if stop {
			return
		}
	}
}

// pollable hands the epoll descriptor epfd to Go's network poller (an epoll descriptor is
// readable while events are ready), so the loop waits like any network goroutine instead of
// blocking a thread of its own in epoll_wait, whose wake-up then had to win the P back
// from the goroutines running. On failure epfd is closed.
func pollable(epfd int) (*os.File, syscall.RawConn, error) {
	if err := unix.SetNonblock(epfd, true); err != nil {
		_ = unix.Close(epfd)
		return nil, nil, fmt.Errorf("epoll descriptor non-blocking: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "transport-epoll")
	raw, err := ep.SyscallConn()
	if err != nil {
		_ = ep.Close()
		return nil, nil, fmt.Errorf("epoll descriptor: %w", err)
	}
	return ep, raw, nil
}

// wait returns the events ready on the epoll descriptor, parking in Go's network poller
// until there are some.
func (p *poller) wait(events []unix.EpollEvent) (n int, err error) {
	if rerr := p.epRaw.Read(func(fd uintptr) bool {
		n, err = unix.EpollWait(int(fd), events, 0)
		return n > 0 || err != nil // nothing ready: wait until the descriptor is readable
	}); rerr != nil {
		return 0, fmt.Errorf("waiting on epoll: %w", rerr)
	}
	return n, err
}

// idleReader is how long a reader goroutine waits for another connection with input
// before it exits.
const idleReader = time.Second

// reader reads w until it parks, then serves the next connection the loop hands off, until
// none comes for idleReader or the loop stops. Handlers run on the reader (the patched
// socket queue runs a socket's events on the goroutine that decoded them), so its stack
// grows deep; a goroutine per wake-up grew a fresh stack for every message of a client
// that waits for each ack.
func (p *poller) reader(w *websocket) {
	var pad stackpad.Pad // the reader's stack outlives collections while it waits
	stackpad.Hold(&pad)
	idle := time.NewTimer(idleReader)
	defer idle.Stop()
	for {
		w.read(false)
		idle.Reset(idleReader)
		select {
		case w = <-p.handoff:
		case <-idle.C:
			return
		case <-p.done:
			return
		}
	}
}

// release closes the poller to parking and gives every parked connection its reader
// back.
func (p *poller) release() {
	p.mu.Lock()
	p.closed = true
	parked := p.parked
	p.parked = nil
	p.mu.Unlock()
	for _, w := range parked {
		go w.read(false)
	}
}

// Close stops the loop; connections parked at that moment, and all later ones, are read
// by a goroutine each again.
func (p *poller) Close() {
	p.mu.Lock()
	if !p.started || p.closed {
		p.closed = true
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	_, _ = unix.Write(p.wake, one)
	<-p.done
	// The loop has closed the poller to parking and forget no longer touches epfd.
	_ = p.ep.Close()
	_ = unix.Close(p.wake)
}
