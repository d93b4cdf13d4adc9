//go:build !linux

package bolt

import "os"

// fdatasync flushes f to disk (fsync where the system has no fdatasync).
func fdatasync(f *os.File) error {
	return f.Sync()
}

// dropCache does nothing: the large folios it avoids on Linux are Linux's.
func dropCache(*os.File) error { return nil }
