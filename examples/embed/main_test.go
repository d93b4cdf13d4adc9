package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRun embeds iohub as main does, checks it answers, then stops it like a signal would.
func TestRun(t *testing.T) {
	cfg, err := chatConfig("embed-test-secret", t.TempDir())
	if err != nil {
		t.Fatalf("chatConfig: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(t.Output(), nil))) }()

	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}
	var health struct{ Status string }
	if code, body := get(t, client, base+"/healthz"); code != http.StatusOK || json.Unmarshal([]byte(body), &health) != nil || health.Status != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 {\"status\":\"ok\"}", code, body)
	}
	// The Socket.IO endpoint is mounted too: an Engine.IO 4 polling handshake opens a session.
	var open struct{ SID string }
	code, body := get(t, client, base+"/socket.io/?EIO=4&transport=polling")
	if payload, ok := strings.CutPrefix(body, "0"); code != http.StatusOK || !ok || json.Unmarshal([]byte(payload), &open) != nil || open.SID == "" {
		t.Errorf("Engine.IO handshake = %d %q, want 200 and an open packet 0{\"sid\":…}", code, body)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after stop = %v, want nil (graceful shutdown)", err)
		}
	case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestChatConfigNeedsSecret(t *testing.T) {
	if _, err := chatConfig("", t.TempDir()); err == nil || !strings.Contains(err.Error(), "JWT_SECRET") {
		t.Fatalf("chatConfig without a secret: error %v, want one naming JWT_SECRET", err)
	}
}

// get fetches url and returns the status code and body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	res, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return res.StatusCode, string(body)
}
