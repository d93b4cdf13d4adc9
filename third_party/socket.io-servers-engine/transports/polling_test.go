package transports

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// gatedRecorder is a response recorder whose body write waits until release is closed,
// and says on written when it has started, so a test can act while a response is on its
// way out.
type gatedRecorder struct {
	*httptest.ResponseRecorder
	written chan struct{}
	release chan struct{}
}

func (g *gatedRecorder) Write(b []byte) (int, error) {
	close(g.written)
	<-g.release
	return g.ResponseRecorder.Write(b)
}

// TestStalePollCleanupKeepsTheNextPoll checks the iohub patch in onPollRequest: a poll
// request's context runs its Cleanup once when the payload starts going out and again when
// the context finalizes, after the client may already have read the payload and sent its
// next poll. That second run must not detach the next poll: upstream's did, the next
// payload found no request to answer, and the client's poll hung until its ping timeout.
func TestStalePollCleanupKeepsTheNextPoll(t *testing.T) {
	const url = "/engine.io/?EIO=4&transport=polling&sid=x"
	first := &gatedRecorder{httptest.NewRecorder(), make(chan struct{}), make(chan struct{})}
	ctx1 := types.NewHttpContext(first, httptest.NewRequest(http.MethodGet, url, nil))
	p := NewPolling(ctx1)
	drained := make(chan struct{}, 2)
	_ = p.On("drain", func(...any) { drained <- struct{}{} })

	p.OnRequest(ctx1)
	p.Send([]*packet.Packet{{Type: packet.PING}})
	<-first.written // the payload is going out: the first Cleanup has run

	second := httptest.NewRecorder()
	ctx2 := types.NewHttpContext(second, httptest.NewRequest(http.MethodGet, url, nil))
	p.OnRequest(ctx2)
	close(first.release) // ctx1 finalizes, running its Cleanup again
	waitFor(t, drained, "drain after the first payload")

	p.Send([]*packet.Packet{{Type: packet.PONG}})
	waitFor(t, ctx2.Done(), "response to the second poll")
	if got := second.Body.String(); got != "3" {
		t.Fatalf("second poll got %q, want the pong %q", got, "3")
	}
}

// waitFor fails the test if ch yields nothing within a bound generous enough that only a
// lost event reaches it.
func waitFor[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s", what)
	}
}
