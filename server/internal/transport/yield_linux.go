package transport

import (
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// yielder parks its goroutine until the Go runtime next polls the network: it signals an
// eventfd registered with the runtime's poller and waits for it to be reported readable.
// The runtime polls the network only when it has nothing else to run, so by the time the
// goroutine runs again every goroutine that was runnable has run, and every connection
// that had input has been handed to its reader (runtime.Gosched would not do that: it
// only moves the goroutine to the back of the run queue, ahead of any network input).
// The eventfd is made on first use; close releases it.
//
// A server whose run queue never empties polls the network only every 10 ms (the
// runtime's sysmon), so a yield also ends after maxYield: a flusher then still writes a
// chunk at least every maxYield plus the chunk's own time.
type yielder struct {
	f     *os.File
	raw   syscall.RawConn
	fail  bool          // no eventfd: yield falls back to runtime.Gosched
	bound time.Duration // bounds one yield; zero: maxYield
}

// maxYield bounds one yield unless the yielder says otherwise.
const maxYield = 500 * time.Microsecond

// yield parks until the next network poll, or maxYield.
func (y *yielder) yield() {
	if y.raw == nil && !y.fail {
		y.fail = !y.open()
	}
	if y.fail {
		runtime.Gosched()
		return
	}
	// A passed deadline ends the read with the counter still set; the next yield's signal
	// adds to it and its read consumes both.
	bound := y.bound
	if bound == 0 {
		bound = maxYield
	}
	_ = y.f.SetReadDeadline(time.Now().Add(bound))
	// The first call signals the eventfd and reports "not ready", so the runtime parks the
	// goroutine until its poller sees the counter; the second consumes it. Signalling
	// inside the call, after the poll state was reset for this read, means a poll on
	// another thread in between cannot be lost.
	signalled := false
	_ = y.raw.Read(func(fd uintptr) bool {
		var buf [8]byte
		if signalled {
			_, _ = unix.Read(int(fd), buf[:])
			return true
		}
		signalled = true
		buf[0] = 1 // the counter is host-endian; any non-zero value will do
		_, err := unix.Write(int(fd), buf[:])
		return err != nil // not signalled: do not wait
	})
}

// open makes the eventfd and reports whether it could.
func (y *yielder) open() bool {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return false
	}
	y.f = os.NewFile(uintptr(fd), "transport-yield")
	if y.raw, err = y.f.SyscallConn(); err != nil {
		y.close()
		return false
	}
	return true
}

// close releases the eventfd, if one was made.
func (y *yielder) close() {
	if y.f != nil {
		_ = y.f.Close()
		y.f, y.raw = nil, nil
	}
}
