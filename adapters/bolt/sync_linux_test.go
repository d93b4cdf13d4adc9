package bolt

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestOpenDropsLogFromPageCache checks that Open leaves none of the log files' pages in the
// page cache, so that appends do not write into the large folios the preallocation made
// (see dropCache); on a fresh directory and on reopening one.
func TestOpenDropsLogFromPageCache(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	if fs.Type == unix.TMPFS_MAGIC {
		t.Skip("the test directory is on tmpfs, whose pages never leave memory, so whether the log was dropped from the page cache cannot be seen; set TMPDIR to a disk-backed filesystem to run it")
	}
	for _, round := range []string{"fresh", "reopened"} {
		s := openT(t, dir)
		fill(t, s, 0, 3)
		for _, name := range WALFileNames {
			if n := residentPages(t, filepath.Join(dir, name)); n > 1 {
				t.Errorf("%s, after 3 appends: %d pages of %s cached, want at most the appends' one", round, n, name)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

// residentPages counts the pages of the file at path that are in the page cache.
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(info.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap %s: %v", path, err)
	}
	defer func() { _ = unix.Munmap(mem) }()
	vec := make([]byte, (len(mem)+os.Getpagesize()-1)/os.Getpagesize())
	// x/sys/unix has no Mincore wrapper.
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore %s: %v", path, errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
