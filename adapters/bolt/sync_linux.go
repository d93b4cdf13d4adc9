package bolt

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data, and the metadata needed to read it back, to disk.
func fdatasync(f *os.File) error {
	return syscall.Fdatasync(int(f.Fd()))
}

// dropCache asks the kernel to drop f's pages, which must be clean (synced), from the page
// cache. Writing or reading a whole log file at open leaves it in large folios, and every
// small append into one of those makes the kernel walk all the folio's blocks, when the
// record is written and again when it is synced; the pages that later appends bring into
// the cache are small ones. In a loop of 300-byte appends and syncs at 500/s that walk was
// ~40 µs of CPU per append, a sixth of the write and sync. The price: the first append
// into each page reads its block back from the disk (one append in ~13).
func dropCache(f *os.File) error {
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("drop cached pages: %w", err)
	}
	return nil
}
