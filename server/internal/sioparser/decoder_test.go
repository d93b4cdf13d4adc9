package sioparser

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// outcome is what a decoder did with a sequence of inputs: every packet it emitted and
// the result of every Add, in order.
type outcome struct {
	packets []*parser.Packet
	errs    []string
}

// feed adds inputs to dec one by one, each made fresh by its constructor (the library
// decoder consumes buffers).
func feed(dec parser.Decoder, inputs []func() any) outcome {
	var out outcome
	_ = dec.On("decoded", func(args ...any) {
		p, _ := args[0].(*parser.Packet)
		out.packets = append(out.packets, p)
	})
	for _, in := range inputs {
		err := dec.Add(in())
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		out.errs = append(out.errs, msg)
	}
	return out
}

// sameAsLibrary checks that iohub's decoder and the library's do the same with inputs.
func sameAsLibrary(t testing.TB, inputs ...func() any) outcome {
	t.Helper()
	want := feed(parser.NewDecoder(), inputs)
	got := feed(newDecoder(), inputs)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoders differ\n got: %s\nwant: %s", show(got), show(want))
	}
	return got
}

func show(o outcome) string {
	var b strings.Builder
	for _, p := range o.packets {
		fmt.Fprintf(&b, "{%v %q %#v id=%v att=%v} ", p.Type, p.Nsp, p.Data, deref(p.Id), deref(p.Attachments))
	}
	fmt.Fprintf(&b, "errs=%q", o.errs)
	return b.String()
}

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}

// str and buf make a text input as a string and as the engine hands it over.
func str(s string) func() any { return func() any { return s } }
func buf(s string) func() any { return func() any { return types.NewStringBufferString(s) } }
func bin(b ...byte) func() any {
	return func() any { return append([]byte(nil), b...) }
}

// textCases are single text packets: those the fast path decodes, those it leaves to
// the library, and malformed ones the library refuses.
var textCases = []string{
	// the fast path
	`2["send_message",{"roomId":"general","content":"hello"}]`,
	`21["send_message",{"roomId":"general","content":"hello"}]`,
	`2/chat,7["join_room","r1"]`,
	`2/,["a"]`,
	`2[1,2.5,-3e2,0,-0,1E+2,1e-2]`,
	`2["a",true,false,null,[],{},[[1],{"k":[null]}]]`,
	`2[ "a" , { "k" : "v" , "k" : "w" } ]`,
	"2[\t\"a\"\n,\r{}]",
	`2["a","é ü 日本 😀"]`,
	`2["a","line\nbreak \"quoted\" \u00e9 \ud83d\ude00 \/"]`,
	`2["a"]trailing garbage`,
	`2["a"]]`,
	`3[]`,
	`31[{"success":true}]`,
	`3/chat,12["x"]`,
	`2` + strings.Repeat("9", 19) + `["a"]`,
	`2007["a"]`,
	`2[` + strings.Repeat(`[`, 60) + strings.Repeat(`]`, 60) + `]`,
	// left to the library (decoded or refused there)
	`2[` + strings.Repeat(`[`, 70) + strings.Repeat(`]`, 70) + `]`,
	`2` + strings.Repeat("9", 20) + `["a"]`,
	`2 ["a"]`,
	`2/` + strings.Repeat("n", 600) + `,["a"]`,
	`2/` + strings.Repeat("n", 511) + `,["a"]`,
	`2/chat["a"]`,
	`2/chat`,
	`2`,
	``,
	`0`,
	`0{"token":"x"}`,
	`0/chat,{"token":"x"}`,
	`1`,
	`1/chat,`,
	`4{"message":"x"}`,
	`9["a"]`,
	`x["a"]`,
	`2[]`,
	`2["connect"]`,
	`2["disconnecting",1]`,
	`2[null]`,
	`2[{}]`,
	`2{"a":1}`,
	`2"a"`,
	`3{}`,
	`3"x"`,
	`2["a"`,
	`2["a",]`,
	`2["a" "b"]`,
	`2["a",{"k"}]`,
	`2["a",{"k":}]`,
	`2["a",{1:2}]`,
	`2["a",{"k":1,}]`,
	`2["a",01]`,
	`2["a",1.]`,
	`2["a",.5]`,
	`2["a",1e]`,
	`2["a",-]`,
	`2["a",+1]`,
	`2["a",1e400]`,
	`2["a",-1e400]`,
	`2["a",tru]`,
	`2["a",truex]`,
	`2["a",nul]`,
	`2["a",NaN]`,
	`2["a","bad\x"]`,
	`2["a","bad\u12"]`,
	"2[\"a\",\"ctl\x01\"]",
	"2[\"a\",\"bad utf8 \xff\xfe\"]",
	"2[\"a\",\"trunc \xe6\x97\"]",
	`2["a","unterminated]`,
	`2["a","esc at end\`,
	`2["\ud800",1]`,
	`5-["a"]`,
	`51-["a",{"_placeholder":true,"num":0}]`,
}

func TestDecodeText(t *testing.T) {
	for _, c := range textCases {
		t.Run(c, func(t *testing.T) {
			sameAsLibrary(t, str(c))
			sameAsLibrary(t, buf(c))
		})
	}
}

func TestDecodeTakesTheFastPath(t *testing.T) {
	for _, c := range []string{
		`2["send_message",{"roomId":"general","content":"hello"}]`,
		`21["a","line\nbreak"]`,
		`3/chat,12[{"success":true,"n":1.5}]`,
	} {
		if decodeText(c) == nil {
			t.Errorf("%s: left to the library", c)
		}
	}
	p := decodeText(`2/chat,42["send_message",{"roomId":"r","content":"hi"}]`)
	want := &parser.Packet{Type: parser.EVENT, Nsp: "/chat", Data: []any{"send_message", map[string]any{"roomId": "r", "content": "hi"}}}
	id := uint64(42)
	want.Id = &id
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}

// Binary packets go to the library; text that follows a binary packet's header while its
// attachments are missing is refused as the library refuses it, and text after the last
// attachment takes the fast path again.
func TestDecodeBinarySequences(t *testing.T) {
	header := `51-["upload",{"_placeholder":true,"num":0}]`
	two := `52-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`
	event := `2["a",1]`
	cases := map[string][]func() any{
		"one attachment then text":  {buf(header), bin(1, 2, 3), buf(event)},
		"text mid reconstruction":   {buf(header), buf(event), bin(1), buf(event)},
		"two attachments":           {buf(two), bin(1), buf(event), bin(2), buf(event), buf(event)},
		"binary ack":                {buf(`61-[{"_placeholder":true,"num":0}]`), bin(9), buf(event)},
		"zero attachments":          {buf(`50-["a"]`), buf(event), bin(1), buf(event)},
		"binary without header":     {bin(1), buf(event)},
		"bad placeholder":           {buf(`51-["a",{"_placeholder":true,"num":5}]`), bin(1), buf(event), bin(2), buf(event)},
		"refused header":            {buf(`5x-["a"]`), buf(event)},
		"too many attachments":      {buf(`511-["a"]`), buf(event)},
		"unknown input type":        {func() any { return 42 }, buf(event)},
		"string reader":             {func() any { return strings.NewReader(header) }, bin(1), buf(event)},
		"string reader text":        {func() any { return strings.NewReader(event) }, buf(event)},
		"plain strings and buffers": {str(event), buf(event), str(`3["x"]`)},
	}
	for name, inputs := range cases {
		t.Run(name, func(t *testing.T) { sameAsLibrary(t, inputs...) })
	}
}

func TestDestroyStopsTheFastPath(t *testing.T) {
	d := newDecoder()
	d.Destroy()
	if got := d.state.Load(); got != sticky {
		t.Fatalf("state after Destroy = %d", got)
	}
	out := feed(d, []func() any{buf(`2["a"]`)})
	if len(out.packets) != 1 {
		t.Fatalf("the library decoder did not decode after Destroy: %s", show(out))
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range textCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sameAsLibrary(t, buf(s))
	})
}
