package server

import (
	"net/url"
	"slices"
	"testing"
)

// TestTokenQueryMatchesParseQuery holds the shortcut to what parsing the whole query gives.
func TestTokenQueryMatchesParseQuery(t *testing.T) {
	raws := []string{
		"", "EIO=4&transport=websocket", "EIO=3&transport=polling&t=PAbc1&token=abc",
		"token=a&token=b", "tok%65n=x&EIO=4", "token=%zz&token=ok", "a=%20&b=1", "tokens=1", "token",
	}
	for _, raw := range raws {
		q, _ := url.ParseQuery(raw)
		if got, want := tokenQuery(raw), q["token"]; !slices.Equal(got, want) {
			t.Errorf("tokenQuery(%q) = %q, want %q", raw, got, want)
		}
	}
}

func BenchmarkTokenQuery(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if tokenQuery("EIO=4&transport=websocket") != nil {
			b.Fatal("token found")
		}
	}
}
