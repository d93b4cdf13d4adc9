package types

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
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

	c.Query() // the engine reads both before it detaches
	c.Headers()
	d := c.Detached()
	if d.lazy.Load() != nil {
		t.Error("the detached context carries lazy state nothing asked for")
	}

	if got := d.Request().Header.Get("Authorization"); got != "Bearer x" {
		t.Errorf("header Authorization = %q", got)
	}
	if got := d.Headers().Peek("Origin"); got != "http://example.com" {
		t.Errorf("Headers().Peek(Origin) = %q", got)
	}
	if got := d.Query().Peek("token"); got != "a" {
		t.Errorf("Query().Peek(token) = %q", got)
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

// iohub patch: a parameter bag changed before Detached is handed over as it is; an
// unchanged one is built again from the request, with the same values.
func TestHttpContextDetachedKeepsModifiedBags(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?transport=webtransport&b=1&b=2", nil)
	r.Header.Set("X-A", "1")
	c := NewHttpContext(httptest.NewRecorder(), r)
	c.Query().Set("EIO", "4") // as the engine does for a WebTransport handshake
	headers := c.Headers()

	d := c.Detached()

	if d.Query() != c.Query() || d.Query().Peek("EIO") != "4" {
		t.Errorf("modified query not handed over: EIO %q", d.Query().Peek("EIO"))
	}
	if d.Headers() == headers {
		t.Error("an unmodified header bag was kept")
	}
	if got, want := d.Headers().All(), headers.All(); !reflect.DeepEqual(got, want) {
		t.Errorf("rebuilt headers %v, want %v", got, want)
	}
	if got, _ := d.Query().Gets("b"); !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("query b = %v", got)
	}
	if !c.Query().Modified() || headers.Modified() {
		t.Error("Modified does not tell which bag was changed")
	}
}
