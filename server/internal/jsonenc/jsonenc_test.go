package jsonenc

import (
	"encoding/json"
	"testing"
)

var samples = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "héllo wörld ✓ 😀", "line\u2028para\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80",
}

func TestAppendStringMatchesMarshal(t *testing.T) {
	for _, s := range samples {
		checkString(t, s)
	}
}

func FuzzAppendStringMatchesMarshal(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(checkString)
}

func checkString(t *testing.T, s string) {
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
		t.Fatalf("AppendString(%q) = %s, want x%s", s, got, want)
	}
}

func TestAppendOptString(t *testing.T) {
	s := "a<b"
	for _, tc := range []struct {
		got  []byte
		want any
	}{
		{AppendOptString(nil, nil), (*string)(nil)},
		{AppendOptString(nil, &s), &s},
	} {
		want, _ := json.Marshal(tc.want)
		if string(tc.got) != string(want) {
			t.Errorf("got %s, want %s", tc.got, want)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "hello there, how is everyone doing today? 00000000000000000042-k2fq7xma"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
