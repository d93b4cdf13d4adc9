package chat

import (
	"math"
	"strconv"
	"time"
)

// IDWidth is the length of every ID that FormatID produces: enough decimal digits for any
// uint64, so IDs never change width and byte-wise order is numeric order.
const IDWidth = 20

// FormatID is the message ID of the seq-th message of a room: seq in decimal, zero-padded
// to IDWidth digits (seq 10 is "00000000000000000010"). Stores that number a room's
// messages 1, 2, 3, ... use it so IDs sort byte-wise in the order the room received them.
func FormatID(seq uint64) string {
	var buf [IDWidth]byte
	digits := strconv.AppendUint(buf[:0], seq, 10)
	pad := IDWidth - len(digits)
	copy(buf[pad:], digits)
	for i := range pad {
		buf[i] = '0'
	}
	return string(buf[:])
}

// ParseID is the inverse of FormatID: it reports false for any string FormatID cannot
// produce (wrong length, a non-digit, or a number beyond uint64).
func ParseID(id string) (seq uint64, ok bool) {
	if len(id) != IDWidth {
		return 0, false
	}
	for i := range len(id) {
		if id[i] < '0' || id[i] > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(id, 10, 64)
	return seq, err == nil
}

// IDBound turns a History "before" argument, which may be any string, into sequence
// numbers: the IDs of exactly the sequences below the returned bound sort byte-wise
// before `before`. It returns math.MaxUint64 when every ID sorts before `before`; stores
// never reach that sequence.
func IDBound(before string) uint64 {
	if seq, ok := ParseID(before); ok {
		return seq
	}
	lo, hi := uint64(0), uint64(math.MaxUint64)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if FormatID(mid) < before {
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
