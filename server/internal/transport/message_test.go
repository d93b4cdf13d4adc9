package transport

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

func TestReadMessage(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 4 << 10, 5 << 10, maxPooledScratch + 1} {
		want := bytes.Repeat([]byte("x"), size)
		got, err := readMessage(iotest.HalfReader(bytes.NewReader(want)))
		if err != nil || !bytes.Equal(got, want) || cap(got) != size {
			t.Errorf("size %d: got %d bytes (cap %d), err %v", size, len(got), cap(got), err)
		}
	}
	if _, err := readMessage(iotest.TimeoutReader(strings.NewReader("abc"))); err == nil {
		t.Error("a failing reader gave no error")
	}
}

// TestDecodeTextMatchesParser holds decodeText to what the library's Engine.IO 4 parser
// gives, and to leaving what it does not decode to that parser.
func TestDecodeTextMatchesParser(t *testing.T) {
	msgs := []string{"4", `40{"token":"abc"}`, `42["join_room",{"roomId":"r"}]`, "2", "3probe", "5", "6", "1", "0x", "", "b", "bAQID", "9x", "é"}
	for _, msg := range msgs {
		p, ok := decodeText([]byte(msg))
		if !ok {
			if msg != "" && msg[0] >= '0' && msg[0] <= '6' {
				t.Errorf("%q left to the parser", msg)
			}
			continue
		}
		want, err := parser.Parserv4().DecodePacket(types.NewStringBufferString(msg))
		if err != nil {
			t.Fatalf("parser on %q: %v", msg, err)
		}
		gotData, _ := io.ReadAll(p.Data)
		wantData, _ := io.ReadAll(want.Data)
		if p.Type != want.Type || !bytes.Equal(gotData, wantData) {
			t.Errorf("%q: got %s %q, parser %s %q", msg, p.Type, gotData, want.Type, wantData)
		}
	}
}
