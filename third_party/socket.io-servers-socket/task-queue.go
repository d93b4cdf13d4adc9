package socket

import (
	"runtime/debug"
	"sync"
)

// taskQueue runs a socket's tasks one at a time, in the order they were enqueued.
//
// iohub patch: the stock queue (pkg/queue) starts a goroutine whenever a task arrives at
// an idle queue, so a client that waits for each reply cost a fresh goroutine per event,
// whose stack then grew under the handler (runtime.newstack/copystack ~7 % and the
// goroutine's start and exit ~4 % of the server CPU per acknowledged send_message). Here
// the connection's reader runs the packets it decodes itself (RunOrEnqueue): it holds no
// lock then, and it reads the next packet once the previous one is handled. Tasks from
// anywhere else (Enqueue: timers, closing, other sockets) still start a goroutine when the
// queue is idle, as before, since their callers may hold locks. Order and the
// one-at-a-time rule are those of the stock queue.
type taskQueue struct {
	mu      sync.Mutex
	tasks   []func()
	running bool // a goroutine is running the queue's tasks
	closed  bool // TryClose was called: no new tasks
}

// Enqueue runs task after the tasks before it, on a new goroutine when the queue is idle.
// Tasks enqueued after TryClose are dropped.
func (q *taskQueue) Enqueue(task func()) {
	if q.claim(task) {
		go q.run(task)
	}
}

// RunOrEnqueue runs task, and the tasks enqueued meanwhile, on the calling goroutine when
// the queue is idle; else it queues task like Enqueue. Call it only without locks held.
func (q *taskQueue) RunOrEnqueue(task func()) {
	if q.claim(task) {
		q.run(task)
	}
}

// claim queues task behind the running tasks and reports false, or, when the queue is
// idle, marks it running and reports true: the caller must then run task. A nil task or a
// closed queue takes nothing.
func (q *taskQueue) claim(task func()) bool {
	if task == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return false
	case q.running:
		q.tasks = append(q.tasks, task)
		return false
	default:
		q.running = true
		return true
	}
}

// run runs task, then every task enqueued meanwhile, until the queue is empty.
func (q *taskQueue) run(task func()) {
	for {
		execute(task)
		q.mu.Lock()
		if len(q.tasks) == 0 {
			q.tasks = nil
			q.running = false
			q.mu.Unlock()
			return
		}
		task = q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.mu.Unlock()
	}
}

// execute runs one task; a panic is logged and does not stop the queue.
func execute(task func()) {
	defer func() {
		if r := recover(); r != nil {
			socketLog.Error("queue task panic recovered: %v\n%s", r, debug.Stack())
		}
	}()
	task()
}

// TryClose takes no more tasks; those already queued still run.
func (q *taskQueue) TryClose() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}
