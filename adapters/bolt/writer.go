package bolt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/iohub/iohub/internal/stackpad"
)

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("bolt store closed")

// txFunc applies one request to the writer's view, where the requests of its batch write.
// A request the store refuses (an unknown ReplyTo, say) returns a refusal and must not
// have written anything; the rest of the batch commits. Any other error means the request
// may have written partially: the writer drops the batch's writes and runs the batch
// again without that request. A txFunc may run more than once, so it must set all its
// results on every run.
type txFunc func(v *view) error

// refusal wraps the error of a request that was refused before it wrote anything.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// request is one write waiting for its batch to commit.
type request struct {
	apply   txFunc
	refused error // the refusal of the latest run of apply, if any
	err     error // the request's result, set by commit
	// done is called once with the result, on the answering goroutine, after every request
	// submitted before this one; it must not block for long.
	done func(error)
}

// writer is the single goroutine that writes: group commit. It takes every request
// already waiting (up to maxBatch), applies them to an overlay of their own, appends that
// overlay to the log as one record and, after the log's fdatasync, hands the batch to the
// answering goroutine, which calls each request's done in the order they were submitted.
// Many concurrent writers share one sync, and a writer that does not wait for its answer
// (Store.AppendAsync) can have several writes in one batch. The batch then joins mem,
// which readers see.
// Once the log file holds checkpointBytes, mem becomes frozen, the log switches files and
// a checkpoint goroutine puts frozen into the bbolt file (one synced transaction) while
// the writer goes on.
type writer struct {
	db              *bbolt.DB
	log             *wal
	maxBatch        int
	checkpointBytes int64
	queue           queue
	answers         chan []*request // committed batches, in order, for answer
	quit            chan struct{}   // closed by stop
	exited          chan struct{}   // closed when run and answer have returned
	closeErr        error           // of the final checkpoint and closing the log, for stop

	// checkpointing is whether a checkpoint goroutine is running; it sends its result
	// on checkpointed, which has room for it.
	checkpointing bool
	checkpointed  chan error

	// broken, once set, fails every later write: the log could not be written, so
	// what it holds is unknown.
	broken error

	mu     sync.RWMutex // guards the fields below; readers hold it for their whole read
	mem    *overlay     // logged since frozen was; only the writer changes it
	frozen *overlay     // logged in the other log file, not known to be in the bbolt file; or nil
}

// newWriter starts the writer goroutine on the database, whose log must not hold
// anything the database lacks; stop ends it.
func newWriter(db *bbolt.DB, log *wal, opts Options) *writer {
	w := &writer{
		db:              db,
		log:             log,
		maxBatch:        opts.MaxBatch,
		checkpointBytes: opts.CheckpointBytes,
		queue:           queue{ready: make(chan struct{}, 1)},
		answers:         make(chan []*request, 1),
		quit:            make(chan struct{}),
		exited:          make(chan struct{}),
		checkpointed:    make(chan error, 1),
		mem:             newOverlay(),
	}
	answered := make(chan struct{})
	go w.answer(answered)
	go w.run(answered)
	return w
}

// read runs fn on a view of everything acknowledged so far.
func (w *writer) read(fn func(v *view) error) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.db.View(func(tx *bbolt.Tx) error { return fn(newView(tx, nil, w.mem, w.frozen)) })
}

// submit queues r for the next batch and returns at once. After stop, r is answered
// with ErrClosed.
func (w *writer) submit(r *request) {
	if !w.queue.push(r) {
		r.done(ErrClosed)
	}
}

// do submits apply and waits until its batch has committed (or failed). When ctx ends
// first, do returns ctx's error but the write may still commit.
func (w *writer) do(ctx context.Context, apply txFunc) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before submitting to the writer: %w", err)
	}
	done := make(chan error, 1) // buffered: the answerer never waits for the requester
	w.submit(&request{apply: apply, done: func(err error) { done <- err }})
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the commit: %w", ctx.Err())
	}
}

// stop ends the writer after the batch in progress, waits for the checkpoint in
// progress, puts what is left into the bbolt file and closes the log. It returns the
// first error of those, or the one that broke the log. Call it once.
func (w *writer) stop() error {
	close(w.quit)
	<-w.exited
	return w.closeErr
}

// run is the writer goroutine. When it returns, after stop, the requests it never took
// are answered with ErrClosed, and answered is closed once every request has its answer.
func (w *writer) run(answered <-chan struct{}) {
	var pad stackpad.Pad // the stack outlives collections while the writer waits
	stackpad.Hold(&pad)
	defer close(w.exited)
	for {
		select {
		case <-w.quit:
			w.closeErr = errors.Join(w.broken, w.finish(), w.log.close())
			w.answers <- w.queue.close(ErrClosed)
			close(w.answers)
			<-answered
			return
		case err := <-w.checkpointed:
			w.checkpointDone(err)
		case <-w.queue.ready:
			if batch := w.collect(); len(batch) > 0 {
				w.commit(batch)
				w.answers <- batch
				w.maybeCheckpoint()
			}
		}
	}
}

// answer is the answering goroutine: it calls the done of every request of each batch
// run hands it, in order, and closes answered when run has no more.
func (w *writer) answer(answered chan<- struct{}) {
	var pad stackpad.Pad // the stack outlives collections while the answerer waits
	stackpad.Hold(&pad)
	defer close(answered)
	for batch := range w.answers {
		for _, r := range batch {
			r.done(r.err)
		}
	}
}

// maybeCheckpoint starts a checkpoint when none is running and there is one to do: frozen
// is left from a checkpoint that failed, or the log file is full (mem is frozen then, and
// the log switches files).
func (w *writer) maybeCheckpoint() {
	if w.checkpointing || w.broken != nil {
		return
	}
	if w.frozen == nil {
		if w.log.size < w.checkpointBytes {
			return
		}
		w.mu.Lock()
		w.frozen, w.mem = w.mem, newOverlay()
		w.mu.Unlock()
		w.log.switchFiles() // the other file's writes are in the bbolt file: frozen was nil
	}
	w.checkpointing = true
	go func(frozen *overlay) {
		w.checkpointed <- w.db.Update(frozen.apply)
	}(w.frozen)
}

// checkpointDone takes the result of the checkpoint goroutine. After a failure, frozen
// stays, and the next batch tries again.
func (w *writer) checkpointDone(err error) {
	w.checkpointing = false
	if err == nil {
		w.mu.Lock() // readers that began before the commit still see frozen
		w.frozen = nil
		w.mu.Unlock()
	}
}

// finish waits for the checkpoint in progress and puts frozen, then mem, into the bbolt
// file.
func (w *writer) finish() error {
	if w.checkpointing {
		w.checkpointDone(<-w.checkpointed)
	}
	for _, o := range []*overlay{w.frozen, w.mem} {
		if o == nil || o.empty() {
			continue
		}
		if err := w.db.Update(o.apply); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil
}

// collect takes the requests that are waiting, or about to be, up to maxBatch. It yields
// between passes so that the senders the last commit answered can submit again; without
// that, a batch of one would often take the writer before they had the chance.
func (w *writer) collect() []*request {
	batch := w.queue.take(nil, w.maxBatch)
	for len(batch) > 0 && len(batch) < w.maxBatch {
		runtime.Gosched()
		n := len(batch)
		if batch = w.queue.take(batch, w.maxBatch); len(batch) == n {
			return batch
		}
	}
	return batch
}

// commit applies batch, logs it and sets every request's err. A request that fails
// outright fails alone: the rest are tried again on a fresh overlay.
func (w *writer) commit(batch []*request) {
	for len(batch) > 0 {
		writes, failed, err := w.try(batch)
		if failed < 0 {
			if err == nil {
				err = w.publish(writes)
			}
			for _, r := range batch {
				r.err = cmp.Or(err, r.refused) // a failed commit overrides a refusal
			}
			return
		}
		batch[failed].err = err
		batch = slices.Delete(slices.Clone(batch), failed, failed+1) // the caller's slice keeps its order
	}
}

// try runs batch on a view whose batch overlay is fresh, and returns that overlay. It
// returns the index of the request whose error spoilt the overlay, or -1 with the error
// of reading the bbolt file.
func (w *writer) try(batch []*request) (writes *overlay, failed int, err error) {
	if w.broken != nil {
		return nil, -1, w.broken
	}
	tx, err := w.db.Begin(false)
	if err != nil {
		return nil, -1, fmt.Errorf("begin read: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a read-only transaction has nothing to undo
	v := newView(tx, newOverlay(), w.mem, w.frozen)
	for i, r := range batch {
		r.refused = nil
		err := r.apply(v)
		var ref refusal
		switch {
		case errors.As(err, &ref):
			r.refused = ref.error
		case err != nil:
			return nil, i, err
		}
	}
	return v.batch, -1, nil
}

// publish logs writes and, once they are on disk, adds them to mem.
func (w *writer) publish(writes *overlay) error {
	if writes.empty() {
		return nil
	}
	if err := w.log.append(writes); err != nil {
		w.broken = fmt.Errorf("bolt store log failed, writes refused until reopened: %w", err)
		return w.broken
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.mem.merge(writes); err != nil { // cannot happen: writes were formed on mem
		w.broken = fmt.Errorf("bolt store: logged writes do not fit: %w", err)
		return w.broken
	}
	return nil
}

// queue holds the submitted requests the writer has not taken yet, in submission order.
type queue struct {
	mu     sync.Mutex
	reqs   []*request
	closed bool
	ready  chan struct{} // holds a token while reqs may be non-empty
}

// push adds r, or reports false after close.
func (q *queue) push(r *request) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.reqs = append(q.reqs, r)
	q.signal()
	return true
}

// take appends up to limit-len(batch) requests to batch, oldest first.
func (q *queue) take(batch []*request, limit int) []*request {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(limit-len(batch), len(q.reqs))
	batch = append(batch, q.reqs[:n]...)
	left := copy(q.reqs, q.reqs[n:])
	clear(q.reqs[left:])
	q.reqs = q.reqs[:left]
	if left > 0 {
		q.signal()
	}
	return batch
}

// close takes no more requests and returns those left, each failed with err.
func (q *queue) close(err error) []*request {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	left := q.reqs
	q.reqs = nil
	for _, r := range left {
		r.err = err
	}
	return left
}

// signal leaves a token in ready unless one is there. Call it with mu held.
func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
