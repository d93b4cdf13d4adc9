package chat

import (
	"crypto/sha256"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFormatID(t *testing.T) {
	tests := []struct {
		name string
		seq  uint64
		want string
	}{
		{"zero", 0, "00000000000000000000"},
		{"one", 1, "00000000000000000001"},
		{"ten", 10, "00000000000000000010"},
		{"max", math.MaxUint64, "18446744073709551615"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatID(general, tt.seq)
			if want := tt.want + "-" + roomTag(general); got != want {
				t.Fatalf("FormatID(%d) = %q, want %q", tt.seq, got, want)
			}
			if seq, ok := ParseID(general, got); !ok || seq != tt.seq {
				t.Fatalf("ParseID(%q) = %d, %t; want %d, true", got, seq, ok, tt.seq)
			}
		})
	}
}

// general is the room most ID tests use.
var general = RoomRef{Namespace: "/", Room: "general"}

func TestIDsOfOneRoomAreNotIDsOfAnother(t *testing.T) {
	others := []RoomRef{{"/", "random"}, {"/chat", "general"}, {"/", "general2"}, {"/gen", "eral"}}
	id := FormatID(general, 7)
	for _, other := range others {
		if seq, ok := ParseID(other, id); ok {
			t.Fatalf("ParseID(%v, %q) = %d, true: an id of %v must not name a message of %v", other, id, seq, general, other)
		}
		if FormatID(other, 7) == id {
			t.Fatalf("rooms %v and %v give the same id %q", general, other, id)
		}
	}
}

func TestFormatIDSortsNumerically(t *testing.T) {
	for seq := uint64(1); seq < 2000; seq++ {
		if a, b := FormatID(general, seq-1), FormatID(general, seq); a >= b {
			t.Fatalf("FormatID(%d) = %q does not sort before FormatID(%d) = %q", seq-1, a, seq, b)
		}
	}
}

func TestParseIDRejects(t *testing.T) {
	tests := []struct {
		name string
		id   string
	}{
		{"empty", ""},
		{"short", "123"},
		{"no tag", "00000000000000000001"},
		{"long", strings.Repeat("1", IDWidth+1) + "-" + roomTag(general)},
		{"letter", "0000000000000000000a-" + roomTag(general)},
		{"sign", "+0000000000000000001-" + roomTag(general)},
		{"overflow", "99999999999999999999-" + roomTag(general)},
		{"no dash", "00000000000000000001_" + roomTag(general)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if seq, ok := ParseID(general, tt.id); ok {
				t.Fatalf("ParseID(%q) = %d, true; want false", tt.id, seq)
			}
		})
	}
}

func TestIDBound(t *testing.T) {
	tests := []struct {
		name   string
		before string
		want   uint64
	}{
		{"empty", "", 0},
		{"an id", FormatID(general, 42), 42},
		{"just after an id", FormatID(general, 42) + "\x00", 43},
		{"a prefix", "0", 0},
		{"beyond every id", "\xff", math.MaxUint64},
		{"letters", "abc", math.MaxUint64},
		{"between digits", "00000000000000000005x", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IDBound(general, tt.before); got != tt.want {
				t.Fatalf("IDBound(%q) = %d, want %d", tt.before, got, tt.want)
			}
		})
	}
}

// IDBound must hold its byte-wise promise for any string, another room's id included.
func TestIDBoundIsByteWise(t *testing.T) {
	for _, before := range []string{FormatID(RoomRef{"/", "random"}, 42), FormatID(general, 42) + "a", "00000000000000000042-zzz"} {
		bound := IDBound(general, before)
		if bound > 0 && FormatID(general, bound-1) >= before {
			t.Fatalf("IDBound(%q) = %d but id %d does not sort before it", before, bound, bound-1)
		}
		if FormatID(general, bound) < before {
			t.Fatalf("IDBound(%q) = %d but id %d sorts before it", before, bound, bound)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	at := time.Date(2026, 11, 24, 6, 1, 2, 123456789, time.FixedZone("CET", 3600))
	if got, want := FormatTimestamp(at), "2026-11-24T05:01:02.123Z"; got != want {
		t.Fatalf("FormatTimestamp = %q, want %q", got, want)
	}
}

// roomTag is the tag that ends the IDs of the room.
func roomTag(ref RoomRef) string {
	var tag [tagWidth]byte
	putRoomTag(tag[:], ref)
	return string(tag[:])
}

// FormatID allocates only the ID, ParseID nothing: the store formats an ID for every
// message it appends and parses one for every replyTo and read cursor.
func TestIDAllocations(t *testing.T) {
	ref := RoomRef{Namespace: "/chat", Room: "general"}
	id := FormatID(ref, 42)
	if n := testing.AllocsPerRun(100, func() { FormatID(ref, 42) }); n > 1 {
		t.Errorf("FormatID: %v allocations, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { ParseID(ref, id) }); n > 0 {
		t.Errorf("ParseID: %v allocations, want none", n)
	}
}

// A room's tag is its digest whether it comes from the cache or not, with more rooms than
// the cache has slots (rooms take each other's slots).
func TestRoomTagCache(t *testing.T) {
	for round := range 2 {
		for i := range 3 * roomTagSlots {
			ref := RoomRef{Namespace: "/chat", Room: "room-" + strconv.Itoa(i)}
			sum := sha256.Sum256([]byte(ref.Namespace + "\x00" + ref.Room))
			if got, want := roomTag(ref), roomTagEncoding.EncodeToString(sum[:5]); got != want {
				t.Fatalf("round %d: tag of %v is %q, want %q", round, ref, got, want)
			}
		}
	}
}
