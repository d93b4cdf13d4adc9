//go:build unix

package transport

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// iovMax is the most buffers one writev takes (Linux's IOV_MAX).
const iovMax = 1024

// writeNow writes bufs to the connection behind raw as far as its socket takes them
// without waiting, and returns what is left: nothing when everything was written, else
// the unwritten buffers, the first one possibly cut where the socket filled up.
func writeNow(raw syscall.RawConn, bufs [][]byte) (rest [][]byte, err error) {
	rest = bufs
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		rest, werr = writevNow(int(fd), rest)
		return true // never wait: a full socket goes to the connection's own writer
	}); err != nil {
		return rest, err
	}
	return rest, werr
}

// writevNow writes bufs to the non-blocking descriptor fd until they are all written or
// the socket is full (EAGAIN), and returns what is left.
func writevNow(fd int, bufs [][]byte) ([][]byte, error) {
	for len(bufs) > 0 {
		chunk := bufs[:min(len(bufs), iovMax)]
		want := size(chunk) // before advance, which cuts chunk's first buffer in place
		n, err := unix.Writev(fd, chunk)
		if n > 0 {
			bufs = advance(bufs, n)
		}
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
