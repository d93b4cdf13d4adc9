package chat

import (
	"math"
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
			got := FormatID(tt.seq)
			if got != tt.want {
				t.Fatalf("FormatID(%d) = %q, want %q", tt.seq, got, tt.want)
			}
			if seq, ok := ParseID(got); !ok || seq != tt.seq {
				t.Fatalf("ParseID(%q) = %d, %t; want %d, true", got, seq, ok, tt.seq)
			}
		})
	}
}

func TestFormatIDSortsNumerically(t *testing.T) {
	for seq := uint64(1); seq < 2000; seq++ {
		if a, b := FormatID(seq-1), FormatID(seq); a >= b {
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
		{"long", strings.Repeat("1", IDWidth+1)},
		{"letter", "0000000000000000000a"},
		{"sign", "+0000000000000000001"},
		{"overflow", "99999999999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if seq, ok := ParseID(tt.id); ok {
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
		{"an id", FormatID(42), 42},
		{"just after an id", FormatID(42) + "\x00", 43},
		{"a prefix", "0", 0},
		{"beyond every id", "\xff", math.MaxUint64},
		{"letters", "abc", math.MaxUint64},
		{"between digits", "00000000000000000005x", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IDBound(tt.before); got != tt.want {
				t.Fatalf("IDBound(%q) = %d, want %d", tt.before, got, tt.want)
			}
		})
	}
}

func TestFormatTimestamp(t *testing.T) {
	at := time.Date(2026, 11, 24, 6, 1, 2, 123456789, time.FixedZone("CET", 3600))
	if got, want := FormatTimestamp(at), "2026-11-24T05:01:02.123Z"; got != want {
		t.Fatalf("FormatTimestamp = %q, want %q", got, want)
	}
}
