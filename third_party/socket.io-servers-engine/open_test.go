package engine

import (
	"encoding/json"
	"testing"
)

// TestOpenDataMatchesUpstreamMap checks the iohub patch in onOpen: the open packet's
// handshake marshalled from openData is byte for byte what upstream's map gave.
func TestOpenDataMatchesUpstreamMap(t *testing.T) {
	for _, upgrades := range [][]string{{}, {"websocket"}} {
		d := openData{MaxPayload: 1e6, PingInterval: 25000, PingTimeout: 20000, Sid: "a\"b<c", Upgrades: upgrades}
		got, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(map[string]any{
			"sid":          d.Sid,
			"upgrades":     d.Upgrades,
			"pingInterval": d.PingInterval,
			"pingTimeout":  d.PingTimeout,
			"maxPayload":   d.MaxPayload,
		})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("open data %s, upstream %s", got, want)
		}
	}
}
