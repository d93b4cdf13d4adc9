package bolt

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// WALFileName is the write-ahead log that Open creates next to FileName.
const WALFileName = "iohub.wal"

// The log is a file of preallocated zeros (rewriting a block of a file costs one
// fdatasync, extending the file more) that holds, from its start, a run of records, each
// one batch of writes:
//
//	uint32 payload length, uint32 CRC-32C of (epoch, payload), uint64 epoch, payload
//
// (integers big-endian). A batch is acknowledged once its record is written and
// fdatasync'ed: one sequential write and one sync, where a bbolt commit writes a page per
// room touched and syncs twice. The epoch is a random non-zero number drawn each time the
// log starts over: emptying the log after a checkpoint only draws a new epoch and writes
// from the start again. Replay takes the records from the start while they are complete,
// match their checksum and share the first one's epoch: what follows is a record torn by
// a crash (never acknowledged), records of an earlier epoch (already checkpointed) or the
// zeros.
const recordHeader = 16

// crcTable is the CRC-32C (Castagnoli) table of the records' checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// wal is the open log. Only the writer goroutine uses it (and Open, before the writer
// starts).
type wal struct {
	f     *os.File
	epoch uint64 // of the records being written
	size  int64  // where the next record goes: the end of the last one
	buf   []byte
}

// openWAL opens (creating when needed) the log in dir, preallocated to at least
// prealloc bytes, and merges the puts of its records into pending. The records it
// writes next start the log over: the caller must first move pending into the bbolt
// file.
func openWAL(dir string, prealloc int64, pending *overlay) (*wal, error) {
	path := filepath.Join(dir, WALFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	data, err := io.ReadAll(f)
	if err == nil {
		err = replay(data, pending)
	}
	if err == nil && int64(len(data)) < prealloc {
		err = preallocate(f, int64(len(data)), prealloc, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", path, closeAfter(err, f))
	}
	w := &wal{f: f}
	w.reset()
	return w, nil
}

// replay merges the puts of the log's records, as read in data, into pending.
func replay(data []byte, pending *overlay) error {
	var epoch uint64
	for off := 0; len(data)-off >= recordHeader; {
		rec := data[off:]
		n, sum, e := binary.BigEndian.Uint32(rec), binary.BigEndian.Uint32(rec[4:]), binary.BigEndian.Uint64(rec[8:])
		if e == 0 || (epoch != 0 && e != epoch) || uint64(n) > uint64(len(rec)-recordHeader) {
			return nil // the zeros, an earlier epoch, or a record torn by a crash
		}
		if crc32.Checksum(rec[8:recordHeader+int(n)], crcTable) != sum {
			return nil // a record torn by a crash
		}
		if err := pending.mergeRecord(rec[recordHeader : recordHeader+int(n)]); err != nil {
			return fmt.Errorf("record at offset %d: %w", off, err)
		}
		epoch, off = e, off+recordHeader+int(n)
	}
	return nil
}

// preallocate writes zeros to f from offset from up to size and syncs them and the
// directory dir, should the file be new.
func preallocate(f *os.File, from, size int64, dir string) error {
	if _, err := f.WriteAt(make([]byte, size-from), from); err != nil {
		return fmt.Errorf("preallocate: %w", err)
	}
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("sync preallocated log: %w", err)
	}
	return syncDir(dir)
}

// append writes the record of batch and waits until it is on disk.
func (w *wal) append(batch *overlay) error {
	w.buf = batch.appendRecord(append(w.buf[:0], make([]byte, recordHeader)...))
	binary.BigEndian.PutUint32(w.buf, uint32(len(w.buf)-recordHeader))
	binary.BigEndian.PutUint64(w.buf[8:], w.epoch)
	binary.BigEndian.PutUint32(w.buf[4:], crc32.Checksum(w.buf[8:], crcTable))
	if _, err := w.f.WriteAt(w.buf, w.size); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	w.size += int64(len(w.buf))
	return nil
}

// reset starts the log over, once its records are all in the bbolt file: the next record
// goes to the start, in a new epoch.
func (w *wal) reset() {
	w.epoch = 0
	for w.epoch == 0 {
		w.epoch = rand.Uint64()
	}
	w.size = 0
}

// close closes the log file.
func (w *wal) close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	return nil
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, closeAfter(err, d))
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close directory: %w", err)
	}
	return nil
}

// closeAfter is err joined with the error of closing c.
func closeAfter(err error, c io.Closer) error {
	if cerr := c.Close(); cerr != nil {
		return fmt.Errorf("%w (and closing: %w)", err, cerr)
	}
	return err
}
