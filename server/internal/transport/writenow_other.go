//go:build !unix

package transport

import "syscall"

// scratch is unused outside Unix.
type scratch struct{}

// writeNow writes nothing outside Unix: every connection's frames go to its own blocking
// writer.
func writeNow(_ syscall.RawConn, bufs [][]byte, _ *scratch) ([][]byte, error) { return bufs, nil }
