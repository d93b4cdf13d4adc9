package bolt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"go.etcd.io/bbolt"
)

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("bolt store closed")

// txFunc applies one request inside the shared write transaction of its batch. A request
// the store refuses (an unknown ReplyTo, say) returns a refusal and must not have written
// anything; the rest of the batch commits. Any other error means the request may have
// written partially: the writer rolls the transaction back and runs the batch again
// without that request. A txFunc may run more than once, so it must set all its results
// on every run.
type txFunc func(tx *bbolt.Tx) error

// refusal wraps the error of a request that was refused before it wrote anything.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// request is one write waiting for its batch to commit.
type request struct {
	apply   txFunc
	refused error      // the refusal of the latest run of apply, if any
	done    chan error // buffered: the writer never waits for the requester
}

// writer is the single goroutine that writes to the database: group commit. It takes
// every request already waiting (up to maxBatch), applies them in one transaction and
// answers each after the commit's fsync, so many concurrent writers share one fsync.
type writer struct {
	db       *bbolt.DB
	maxBatch int
	reqs     chan *request // unbuffered: a request is either taken by the writer or never
	quit     chan struct{} // closed by stop
	exited   chan struct{} // closed when run returns
}

// newWriter starts the writer goroutine; stop ends it.
func newWriter(db *bbolt.DB, maxBatch int) *writer {
	w := &writer{
		db:       db,
		maxBatch: maxBatch,
		reqs:     make(chan *request),
		quit:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
	go w.run()
	return w
}

// do submits apply and waits until its batch has committed (or failed). When ctx ends
// first, do returns ctx's error but the write may still commit.
func (w *writer) do(ctx context.Context, apply txFunc) error {
	r := &request{apply: apply, done: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-w.quit:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("waiting for the writer: %w", ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the commit: %w", ctx.Err())
	}
}

// stop ends the writer after the batch in progress and waits for it. Call it once.
func (w *writer) stop() {
	close(w.quit)
	<-w.exited
}

// run is the writer goroutine.
func (w *writer) run() {
	defer close(w.exited)
	batch := make([]*request, 0, w.maxBatch)
	for {
		select {
		case <-w.quit:
			return
		case r := <-w.reqs:
			batch = w.collect(append(batch[:0], r))
			w.commit(batch)
			clear(batch) // drop the answered requests
		}
	}
}

// collect adds the requests that are waiting, or about to be, to batch, up to maxBatch.
// It yields between passes so that the senders the last commit answered can submit again;
// without that, a batch of one would often take the writer before they had the chance.
func (w *writer) collect(batch []*request) []*request {
	for len(batch) < w.maxBatch {
		runtime.Gosched()
		n := len(batch)
		if batch = w.drain(batch); len(batch) == n {
			return batch
		}
	}
	return batch
}

// drain adds the requests already waiting to batch, up to maxBatch.
func (w *writer) drain(batch []*request) []*request {
	for len(batch) < w.maxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit applies batch in one transaction and answers every request. A request that fails
// outright is answered alone and the rest are tried again in a fresh transaction.
func (w *writer) commit(batch []*request) {
	for len(batch) > 0 {
		failed, err := w.try(batch)
		if failed < 0 {
			for _, r := range batch {
				r.done <- cmp.Or(err, r.refused) // a failed commit overrides a refusal
			}
			return
		}
		batch[failed].done <- err
		batch = slices.Delete(batch, failed, failed+1)
	}
}

// try runs batch in one Update transaction. It returns the index of the request whose
// error rolled the transaction back, or -1 with the commit's error.
func (w *writer) try(batch []*request) (failed int, err error) {
	failed = -1
	err = w.db.Update(func(tx *bbolt.Tx) error {
		for i, r := range batch {
			r.refused = nil
			err := r.apply(tx)
			var ref refusal
			switch {
			case errors.As(err, &ref):
				r.refused = ref.error
			case err != nil:
				failed = i
				return err
			}
		}
		return nil
	})
	if err != nil && failed < 0 {
		err = fmt.Errorf("commit: %w", err)
	}
	return failed, err
}
