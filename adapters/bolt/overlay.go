package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/bbolt"
)

// The writes of every batch go to the log (wal.go) and into memory before they are
// acknowledged; the bbolt file receives them later, many batches at a time, at a
// checkpoint. An overlay holds such writes: the batch being formed, or everything logged
// since the last checkpoint. Reads look at the overlays first, then at the bbolt file.
//
// The store only ever puts (it deletes nothing), and each room's messages are numbered
// 1, 2, 3, ..., so an overlay keeps, per room, the contiguous run of its newest messages,
// and the final value of each cursor and dedup key it wrote.

// The key-value buckets an overlay holds, as indexes of overlay.kv.
const (
	kvCursors = iota
	kvDedup
	kvCount
)

// kvBuckets are the bbolt buckets of overlay.kv, by index.
var kvBuckets = [kvCount][]byte{kvCursors: cursorsBucket, kvDedup: dedupBucket}

// errRecord is the error of a log record that parses badly although its checksum matches.
var errRecord = errors.New("malformed log record")

// overlay holds puts that are not in the bbolt file yet. The zero value is not ready: use
// newOverlay.
type overlay struct {
	tails map[string]*tail           // by room prefix
	kv    [kvCount]map[string][]byte // by full bbolt key
}

// tail is a room's run of newest messages: vals[i] is the encoded message first+i.
type tail struct {
	first uint64
	vals  [][]byte
}

// newOverlay is an empty overlay.
func newOverlay() *overlay {
	o := &overlay{tails: map[string]*tail{}}
	for i := range o.kv {
		o.kv[i] = map[string][]byte{}
	}
	return o
}

// empty reports whether o holds no puts.
func (o *overlay) empty() bool {
	return len(o.tails) == 0 && len(o.kv[kvCursors]) == 0 && len(o.kv[kvDedup]) == 0
}

// last is the sequence of the newest message of the tail (0 for nil).
func (t *tail) last() uint64 {
	if t == nil {
		return 0
	}
	return t.first + uint64(len(t.vals)) - 1
}

// get is the encoded message seq, or nil when the tail (which may be nil) lacks it.
func (t *tail) get(seq uint64) []byte {
	if t == nil || seq < t.first || seq-t.first >= uint64(len(t.vals)) {
		return nil
	}
	return t.vals[seq-t.first]
}

// putMsg adds message seq of the room with the given prefix, which must follow the room's
// tail in o when there is one.
func (o *overlay) putMsg(prefix string, seq uint64, val []byte) error {
	t := o.tails[prefix]
	if t == nil {
		o.tails[prefix] = &tail{first: seq, vals: [][]byte{val}}
		return nil
	}
	if seq != t.last()+1 {
		return fmt.Errorf("message %d does not follow %d", seq, t.last())
	}
	t.vals = append(t.vals, val)
	return nil
}

// merge adds the puts of newer, which was formed on top of o, to o.
func (o *overlay) merge(newer *overlay) error {
	for prefix, t := range newer.tails {
		for i, val := range t.vals {
			if err := o.putMsg(prefix, t.first+uint64(i), val); err != nil {
				return err
			}
		}
	}
	for i, m := range newer.kv {
		maps.Copy(o.kv[i], m)
	}
	return nil
}

// apply puts everything o holds into the bbolt file, in key order.
func (o *overlay) apply(tx *bbolt.Tx) error {
	msgs := tx.Bucket(msgsBucket)
	msgs.FillPercent = appendFill
	for _, prefix := range slices.Sorted(maps.Keys(o.tails)) {
		t := o.tails[prefix]
		for i, val := range t.vals {
			k := binary.BigEndian.AppendUint64([]byte(prefix), t.first+uint64(i))
			if err := msgs.Put(k, val); err != nil {
				return fmt.Errorf("put message: %w", err)
			}
		}
	}
	for i, m := range o.kv {
		b := tx.Bucket(kvBuckets[i])
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := b.Put([]byte(k), m[k]); err != nil {
				return fmt.Errorf("put %s entry: %w", kvBuckets[i], err)
			}
		}
	}
	return nil
}

// appendRecord appends the log record payload of o to out:
//
//	uvarint rooms, then per room: prefix, uvarint first, uvarint count, count messages;
//	then per key-value bucket: uvarint entries, then per entry: key, value
//
// where every string is length-prefixed (appendString).
func (o *overlay) appendRecord(out []byte) []byte {
	out = binary.AppendUvarint(out, uint64(len(o.tails)))
	for prefix, t := range o.tails {
		out = appendString(out, prefix)
		out = binary.AppendUvarint(out, t.first)
		out = binary.AppendUvarint(out, uint64(len(t.vals)))
		for _, val := range t.vals {
			out = appendString(out, string(val))
		}
	}
	for _, m := range o.kv {
		out = binary.AppendUvarint(out, uint64(len(m)))
		for k, val := range m {
			out = appendString(appendString(out, k), string(val))
		}
	}
	return out
}

// mergeRecord merges the puts of a record payload written by appendRecord into o.
func (o *overlay) mergeRecord(payload []byte) error {
	p := parser{rest: payload}
	rec := newOverlay()
	for rooms := p.uvarint(); rooms > 0 && p.err == nil; rooms-- {
		prefix, first, n := string(p.bytes()), p.uvarint(), p.uvarint()
		for i := uint64(0); i < n && p.err == nil; i++ {
			if val := p.bytes(); p.err == nil {
				p.err = rec.putMsg(prefix, first+i, val)
			}
		}
	}
	for i := range rec.kv {
		for n := p.uvarint(); n > 0 && p.err == nil; n-- {
			k, val := string(p.bytes()), p.bytes()
			rec.kv[i][k] = val
		}
	}
	if p.err == nil && len(p.rest) > 0 {
		p.err = errors.New("trailing bytes")
	}
	if p.err != nil {
		return fmt.Errorf("%w: %w", errRecord, p.err)
	}
	return o.merge(rec)
}

// parser reads the fields of a record payload; after the first error it reads zeros.
type parser struct {
	rest []byte
	err  error
}

// uvarint reads a uvarint.
func (p *parser) uvarint() uint64 {
	if p.err != nil {
		return 0
	}
	n, k := binary.Uvarint(p.rest)
	if k <= 0 {
		p.err = errors.New("bad number")
		return 0
	}
	p.rest = p.rest[k:]
	return n
}

// bytes reads a length-prefixed string; the result shares the payload's memory.
func (p *parser) bytes() []byte {
	n := p.uvarint()
	if p.err != nil {
		return nil
	}
	if n > uint64(len(p.rest)) {
		p.err = errors.New("string beyond the record")
		return nil
	}
	b := p.rest[:n:n]
	p.rest = p.rest[n:]
	return b
}
