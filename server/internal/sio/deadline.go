package sio

import (
	"context"
	"sync"
	"time"
)

// deadlineStep is how long one shared deadline context is handed out.
const deadlineStep = time.Second

// deadlines hands out the contexts that bound client events: each expires between
// handlerTimeout and handlerTimeout+deadlineStep after it was handed out. Events that
// start within the same step share one context, so a busy socket server runs one timer
// per step rather than one per event (context.WithTimeout per event cost a timer and
// three allocations, ~5 % of the CPU of a send_message with ack).
type deadlines struct {
	mu    sync.Mutex
	ctx   context.Context
	stop  context.CancelFunc // releases ctx's timer early; only Close calls it
	until time.Time          // ctx is handed out until then
}

// context returns a context that expires handlerTimeout to handlerTimeout+deadlineStep
// from now. Its timer goes away when it expires; the caller cancels nothing.
func (d *deadlines) context() context.Context {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || !now.Before(d.until) {
		d.ctx, d.stop = context.WithDeadline(context.Background(), now.Add(handlerTimeout+deadlineStep))
		d.until = now.Add(deadlineStep)
	}
	return d.ctx
}

// close releases the timer of the context handed out last; call it once no event runs.
func (d *deadlines) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop != nil {
		d.stop()
		d.ctx, d.stop = nil, nil
	}
}
