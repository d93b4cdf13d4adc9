package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// WALFileNames are the two log files that Open creates next to FileName.
var WALFileNames = [2]string{"iohub-0.wal", "iohub-1.wal"}

// The log is two files of preallocated zeros (rewriting a block of a file costs one
// fdatasync, extending the file more). The writer writes one while the writes the other
// holds move into the bbolt file (a checkpoint, in the background), then switches. A file
// holds, from its start, a run of records, each one batch of writes:
//
//	uint32 payload length, uint32 CRC-32C of (generation, payload), uint64 generation,
//	payload
//
// (integers big-endian). A batch is acknowledged once its record is written and
// fdatasync'ed: one sequential write and one sync, where a bbolt commit writes a page per
// room touched and syncs twice. Each time the writer switches files it writes the new one
// from the start with the next generation. Replay takes a file's records from its start
// while they are complete, match their checksum and share the first one's generation:
// what follows is a record torn by a crash (never acknowledged), records of an earlier
// generation (already checkpointed) or the zeros. It replays the file of the newest
// generation, after the other one when that holds the generation just before (whose
// checkpoint may not have finished; replaying what the file has is harmless, since the
// store only puts). Open starts at a generation beyond the next one, so that the files it
// has replayed are not replayed again.
const recordHeader = 16

// crcTable is the CRC-32C (Castagnoli) table of the records' checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// wal is the open log. Only the writer goroutine uses it (and Open, before the writer
// starts).
type wal struct {
	files [2]*os.File
	cur   int    // the file being written
	gen   uint64 // of the records being written
	size  int64  // where the next record goes in files[cur]: the end of the last one
	buf   []byte
}

// run is the records at the start of a log file.
type run struct {
	gen      uint64   // 0 when there are none
	payloads [][]byte // in order
}

// openWAL opens (creating when needed) the log files in dir, preallocated to at least
// prealloc bytes each, and merges the puts of the records to replay into pending. The
// caller must move pending into the bbolt file before the log is written.
func openWAL(dir string, prealloc int64, pending *overlay) (*wal, error) {
	w := &wal{}
	var runs [2]run
	for i, name := range WALFileNames {
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("open log: %w", err), w.close())
		}
		w.files[i] = f
		data, err := io.ReadAll(f)
		if err == nil && int64(len(data)) < prealloc {
			err = preallocate(f, int64(len(data)), prealloc, dir)
		}
		if err == nil {
			err = dropCache(f) // clean now: read, or written and synced
		}
		if err != nil {
			return nil, errors.Join(fmt.Errorf("log %s: %w", path, err), w.close())
		}
		runs[i] = scan(data)
	}
	newest := 0
	if runs[1].gen > runs[0].gen {
		newest = 1
	}
	replayed := runs[newest].payloads
	if older := runs[1-newest]; older.gen != 0 && older.gen+1 == runs[newest].gen {
		replayed = append(older.payloads, replayed...)
	}
	for _, payload := range replayed {
		if err := pending.mergeRecord(payload); err != nil {
			return nil, errors.Join(fmt.Errorf("replay log: %w", err), w.close())
		}
	}
	w.gen = runs[newest].gen + 2 + uint64(rand.Uint32())
	return w, nil
}

// scan finds the run of records at the start of data, a log file's content.
func scan(data []byte) run {
	var r run
	for off := 0; len(data)-off >= recordHeader; {
		rec := data[off:]
		n, sum, gen := binary.BigEndian.Uint32(rec), binary.BigEndian.Uint32(rec[4:]), binary.BigEndian.Uint64(rec[8:])
		if gen == 0 || (r.gen != 0 && gen != r.gen) || uint64(n) > uint64(len(rec)-recordHeader) {
			break // the zeros, an earlier generation, or a record torn by a crash
		}
		if crc32.Checksum(rec[8:recordHeader+int(n)], crcTable) != sum {
			break // a record torn by a crash
		}
		r.gen = gen
		r.payloads = append(r.payloads, rec[recordHeader:recordHeader+int(n)])
		off += recordHeader + int(n)
	}
	return r
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
	binary.BigEndian.PutUint64(w.buf[8:], w.gen)
	binary.BigEndian.PutUint32(w.buf[4:], crc32.Checksum(w.buf[8:], crcTable))
	f := w.files[w.cur]
	if _, err := f.WriteAt(w.buf, w.size); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	w.size += int64(len(w.buf))
	return nil
}

// switchFiles makes the writer write the other file, from its start, in the next
// generation. Everything that file holds must be in the bbolt file.
func (w *wal) switchFiles() {
	w.cur, w.gen, w.size = 1-w.cur, w.gen+1, 0
}

// close closes the log files that are open.
func (w *wal) close() error {
	var errs []error
	for _, f := range w.files {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log: %w", err))
		}
	}
	return errors.Join(errs...)
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("sync directory %s: %w", dir, err), d.Close())
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close directory: %w", err)
	}
	return nil
}
