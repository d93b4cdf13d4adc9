//go:build !unix

package transport

import "syscall"

// writeNow writes nothing outside Unix: every connection's frames go to its own blocking
// writer.
func writeNow(_ syscall.RawConn, bufs [][]byte) ([][]byte, error) { return bufs, nil }
