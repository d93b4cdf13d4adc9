package transport

import (
	"reflect"
	"strings"
	"testing"

	engineparser "github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// textPacket decodes what it decodes as the engine's parsers do, both protocols.
func TestTextPacketSameAsEngineParsers(t *testing.T) {
	for _, msg := range []string{
		"0", "1", "2", "2probe", "3", "3probe", "4", `42["send_message",{"roomId":"r"}]`,
		"4é 😀", "5", "6", "7", "9", "x", "", "bAQID", "b4AQID", "42" + strings.Repeat("x", 5000),
	} {
		got, ok := textPacket([]byte(msg))
		for _, p := range []engineparser.Parser{engineparser.Parserv3(), engineparser.Parserv4()} {
			want, err := p.DecodePacket(types.NewStringBufferString(msg))
			if !ok {
				continue // left to the engine's parser
			}
			if err != nil {
				t.Fatalf("%q: decoded, the v%d parser refuses it: %v", msg, p.Protocol(), err)
			}
			if got.Type != want.Type || !reflect.DeepEqual(got.Options, want.Options) ||
				got.Data.(*types.StringBuffer).String() != want.Data.(*types.StringBuffer).String() {
				t.Fatalf("%q: got %+v, the v%d parser %+v", msg, got, p.Protocol(), want)
			}
		}
		if wantOK := msg != "" && msg[0] >= '0' && msg[0] <= '6'; ok != wantOK {
			t.Errorf("%q: decoded %v, want %v", msg, ok, wantOK)
		}
	}
}

func TestReadMessageExactSize(t *testing.T) {
	for _, n := range []int{0, 1, 100, 511, 512, 4096, maxPooledScratch + 1} {
		msg, err := readMessage(strings.NewReader(strings.Repeat("a", n)))
		if err != nil || len(msg) != n || cap(msg) > n+n/8+64 { // size-class rounding only
			t.Fatalf("n=%d: len %d cap %d err %v", n, len(msg), cap(msg), err)
		}
	}
}
