package types

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// iohub patch: Detached keeps what a connection reads of its first request and nothing of
// the request's context or response.
func TestHttpContextDetached(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=websocket&token=a", nil)
	r.Header.Set("Authorization", "Bearer x")
	r.Header.Set("Origin", "http://example.com")
	r.RemoteAddr = "10.0.0.1:1234"
	reqCtx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := NewHttpContext(httptest.NewRecorder(), r.WithContext(reqCtx))
	c.Websocket = &WebSocketConn{}

	d := c.Detached()

	if got := d.Request().Header.Get("Authorization"); got != "Bearer x" {
		t.Errorf("header Authorization = %q", got)
	}
	if got := d.Headers().Peek("Origin"); got != "http://example.com" {
		t.Errorf("Headers().Peek(Origin) = %q", got)
	}
	if got := d.Query().Peek("token"); got != "a" {
		t.Errorf("Query().Peek(token) = %q", got)
	}
	if d.Query() != c.Query() || d.Headers() != c.Headers() {
		t.Error("the parsed query and headers are not handed over")
	}
	if d.Request().URL.RawQuery != r.URL.RawQuery || d.Request().RequestURI != r.RequestURI {
		t.Errorf("URL %q, RequestURI %q", d.Request().URL.RawQuery, d.Request().RequestURI)
	}
	if d.Request().RemoteAddr != "10.0.0.1:1234" || d.Method() != http.MethodGet || d.Secure() {
		t.Errorf("RemoteAddr %q, Method %q, Secure %v", d.Request().RemoteAddr, d.Method(), d.Secure())
	}
	if d.Websocket != c.Websocket {
		t.Error("websocket connection not kept")
	}
	if d.Context() != context.Background() {
		t.Error("the detached context keeps the request's context")
	}
	select {
	case <-d.Done():
	default:
		t.Error("Done is not closed")
	}
	if _, err := d.Write([]byte("x")); !errors.Is(err, ErrResponseAlreadyWritten) {
		t.Errorf("Write: %v, want ErrResponseAlreadyWritten", err)
	}
	if _, err := d.Response().Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
		t.Errorf("Response().Write: %v, want http.ErrHijacked", err)
	}
	if c.IsDone() {
		t.Error("detaching finished the original context")
	}
}
