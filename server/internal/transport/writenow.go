//go:build unix

package transport

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// iovMax is the most buffers one writev takes (Linux's IOV_MAX).
const iovMax = 1024

// scratch is a flusher goroutine's reusable state for writeNow, which then allocates
// nothing (unix.Writev allocates its iovecs, and a closure for RawConn.Write escapes).
type scratch struct {
	iov  []unix.Iovec
	bufs [][]byte // in: what to write; out: what is left
	err  error
	fn   func(fd uintptr) bool // sc.write, bound once
}

// writeNow writes bufs to the connection behind raw as far as its socket takes them
// without waiting, and returns what is left: nothing when everything was written, else
// the unwritten buffers, the first one possibly cut where the socket filled up.
func writeNow(raw syscall.RawConn, bufs [][]byte, sc *scratch) (rest [][]byte, err error) {
	if sc.fn == nil {
		sc.fn = sc.write
	}
	sc.bufs, sc.err = bufs, nil
	err = raw.Write(sc.fn)
	rest = sc.bufs
	if err == nil {
		err = sc.err
	}
	sc.bufs, sc.err = nil, nil
	return rest, err
}

// write is writeNow's RawConn.Write callback.
func (sc *scratch) write(fd uintptr) bool {
	sc.bufs, sc.err = sc.writev(int(fd), sc.bufs)
	return true // never wait: a full socket goes to the connection's own writer
}

// writev writes bufs to the non-blocking descriptor fd until they are all written or
// the socket is full (EAGAIN), and returns what is left.
func (sc *scratch) writev(fd int, bufs [][]byte) ([][]byte, error) {
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), iovMax)]
		want := size(chunk) // before advance, which cuts chunk's first buffer in place
		n, err := sc.writevOnce(fd, chunk)
		bufs = advance(bufs, n)
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return bufs, nil
		case err != nil:
			return bufs, err
		case n < want:
			return bufs, nil // the socket took part: it is full
		}
	}
	return nil, nil
}

// writevOnce is one writev(2) of bufs, none of them empty.
func (sc *scratch) writevOnce(fd int, bufs [][]byte) (int, error) {
	sc.iov = sc.iov[:0]
	for _, b := range bufs {
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		sc.iov = append(sc.iov, v)
	}
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&sc.iov[0])), uintptr(len(sc.iov)))
	clear(sc.iov) // keep no frame alive
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// advance drops the first n bytes of bufs.
func advance(bufs [][]byte, n int) [][]byte {
	for n > 0 && len(bufs) > 0 {
		if n < len(bufs[0]) {
			bufs[0] = bufs[0][n:]
			return bufs
		}
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	return bufs
}

// size is the total length of bufs.
func size(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
