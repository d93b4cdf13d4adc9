package server

import (
	"reflect"
	"testing"

	"github.com/zishang520/socket.io/servers/socket/v3"
)

// TestDropToken holds what the handshake keeps of the auth payload: never the token, an
// emptied payload as a fresh empty map (not nil: the handshake's auth stays {}), any other
// key as it was.
func TestDropToken(t *testing.T) {
	cases := []struct {
		name  string
		auth  map[string]any
		want  map[string]any
		fresh bool
	}{
		{"token only", map[string]any{"token": "jwt"}, map[string]any{}, true},
		{"token and more", map[string]any{"token": "jwt", "room": "a"}, map[string]any{"room": "a"}, false},
		{"no token", map[string]any{"room": "a"}, map[string]any{"room": "a"}, false},
		{"no payload", nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sock := socket.MakeSocket()
			sock.SetAuth(tc.auth)
			dropToken(sock)
			got := sock.Auth()
			if !reflect.DeepEqual(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("auth after dropToken = %#v, want %#v", got, tc.want)
			}
			if fresh := tc.auth != nil && reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(tc.auth).UnsafePointer(); fresh != tc.fresh {
				t.Errorf("payload replaced by a fresh map: %v, want %v", fresh, tc.fresh)
			}
		})
	}
}
