package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAPIErrorsAreJSON holds PROTOCOL.md "Server-side emit (HTTP API)": every error under
// /api/ is { success: false, code, error } with the status of the code, including no key
// configured (404), unknown paths and wrong methods (404 behind the key check), while the
// real routes still get their requests.
func TestAPIErrorsAreJSON(t *testing.T) {
	cases := []struct {
		name         string
		keys         []string
		method, path string
		auth, body   string
		status       int
		code         string
	}{
		{"no key configured: route", nil, "POST", "/api/v1/emit", "Bearer k", `{}`, 404, "not_found"},
		{"no key configured: rooms route", nil, "GET", "/api/v1/rooms/x/users", "", "", 404, "not_found"},
		{"no key configured: wrong method", nil, "GET", "/api/v1/emit", "", "", 404, "not_found"},
		{"no key configured: unknown path", nil, "POST", "/api/v1/nope", "Bearer k", "", 404, "not_found"},
		{"wrong method", []string{"k"}, "GET", "/api/v1/emit", "Bearer k", "", 404, "not_found"},
		{"wrong method on a rooms route", []string{"k"}, "DELETE", "/api/v1/rooms/x/users", "Bearer k", "", 404, "not_found"},
		{"unknown path", []string{"k"}, "POST", "/api/v1/nope", "Bearer k", "", 404, "not_found"},
		{"unknown path below a route", []string{"k"}, "GET", "/api/v1/rooms/a/b/users", "Bearer k", "", 404, "not_found"},
		{"wrong method without a key", []string{"k"}, "GET", "/api/v1/emit", "", "", 401, "unauthorized"},
		{"unknown path with a wrong key", []string{"k"}, "POST", "/api/v1/nope", "Bearer x", "", 401, "unauthorized"},
		{"the emit route still wins", []string{"k"}, "POST", "/api/v1/emit", "Bearer k", `{`, 400, "bad_request"},
		{"the users route still wins", []string{"k"}, "GET", "/api/v1/rooms/-bad/users", "Bearer k", "", 400, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{apiKeys: tc.keys, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			mux := http.NewServeMux()
			s.mountAPI(mux)
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tc.status, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content-type %q, want application/json; body %q", ct, rec.Body.String())
			}
			var got struct {
				Success *bool  `json:"success"`
				Code    string `json:"code"`
				Error   string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
			}
			if got.Success == nil || *got.Success || got.Code != tc.code || got.Error == "" {
				t.Fatalf("body %q, want success false, code %q and a message", rec.Body.String(), tc.code)
			}
		})
	}
}
