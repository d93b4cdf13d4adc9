package chat

import (
	"crypto/sha256"
	"encoding/base32"
	"hash/maphash"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// IDWidth is the length of the sequence part that starts every ID FormatID produces: enough
// decimal digits for any uint64, so byte-wise order is numeric order.
const IDWidth = 20

// tagWidth is the length of the room tag that ends every ID (after a '-').
const tagWidth = 8

// roomTagEncoding writes room tags: lowercase letters and digits.
var roomTagEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// putRoomTag writes the room's tag, a short digest of its namespace and name (40 bits),
// into dst, which holds tagWidth bytes.
func putRoomTag(dst []byte, ref RoomRef) {
	slot := &roomTags[maphash.Comparable(roomTagSeed, ref)%roomTagSlots]
	t := slot.Load()
	if t == nil || t.ref != ref {
		t = &roomTagEntry{ref: ref}
		sum := sha256.Sum256([]byte(ref.Namespace + "\x00" + ref.Room))
		roomTagEncoding.Encode(t.tag[:], sum[:5])
		slot.Store(t)
	}
	copy(dst, t.tag[:])
}

// roomTagSlots is the size of roomTags.
const roomTagSlots = 1024

// roomTags keeps the tags of recently used rooms, one room per slot (a room whose slot
// another room took digests its name again): every message ID is formatted with its room's
// tag, and the digest was ~3 % of the instructions of an acknowledged send_message.
var (
	roomTags    [roomTagSlots]atomic.Pointer[roomTagEntry]
	roomTagSeed = maphash.MakeSeed()
)

// roomTagEntry is a room's tag in roomTags.
type roomTagEntry struct {
	ref RoomRef
	tag [tagWidth]byte
}

// FormatID is the message ID of the seq-th message of a room: seq in decimal, zero-padded
// to IDWidth digits, then '-' and a tag of the room, e.g. "00000000000000000010-k2fq7xma".
// Stores that number a room's messages 1, 2, 3, ... use it, so IDs sort byte-wise in the
// order the room received them, and an ID of one room is never an ID of another (a client
// that passes another room's message as replyTo or to read_messages gets not_found).
func FormatID(ref RoomRef, seq uint64) string {
	var buf [IDWidth + 1 + tagWidth]byte
	digits := strconv.AppendUint(buf[:0], seq, 10)
	pad := IDWidth - len(digits)
	copy(buf[pad:], digits)
	for i := range pad {
		buf[i] = '0'
	}
	buf[IDWidth] = '-'
	putRoomTag(buf[IDWidth+1:], ref)
	return string(buf[:])
}

// ParseID is the inverse of FormatID for the room: it reports false for any string
// FormatID cannot produce for that room (wrong length or tag, a non-digit, or a number
// beyond uint64).
func ParseID(ref RoomRef, id string) (seq uint64, ok bool) {
	if len(id) != IDWidth+1+tagWidth || id[IDWidth] != '-' {
		return 0, false
	}
	var tag [tagWidth]byte
	putRoomTag(tag[:], ref)
	if id[IDWidth+1:] != string(tag[:]) {
		return 0, false
	}
	for i := range IDWidth {
		if id[i] < '0' || id[i] > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(id[:IDWidth], 10, 64)
	return seq, err == nil
}

// IDBound turns a History "before" argument, which may be any string, into sequence
// numbers: the IDs of the room of exactly the sequences below the returned bound sort
// byte-wise before `before`. It returns math.MaxUint64 when every ID sorts before
// `before`; stores never reach that sequence.
func IDBound(ref RoomRef, before string) uint64 {
	if seq, ok := ParseID(ref, before); ok {
		return seq
	}
	lo, hi := uint64(0), uint64(math.MaxUint64)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if FormatID(ref, mid) < before {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// FormatTimestamp formats t as a Message.Timestamp: UTC, millisecond precision.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format(TimestampLayout)
}
