package utils

import (
	"runtime"
	"sync"
	"time"
)

// iohub patch: timers run their callback with time.AfterFunc instead of keeping a goroutine
// parked on the timer's channel until it fires or is stopped. The engine keeps a ping timer
// armed for every connection, so the upstream version cost one parked goroutine (and its
// stack) per idle connection.
type Timer struct {
	timer *time.Timer
	sleep time.Duration

	// mu orders an interval's re-arming with Stop, so a stopped interval stays stopped.
	mu      sync.Mutex
	stopped bool
}

// Refresh re-arms the timer for its full duration, also when it has already fired or been
// stopped.
func (t *Timer) Refresh() *Timer {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = false
	t.timer.Reset(t.sleep)
	return t
}

// Unref stops the timer once the *Timer is no longer reachable.
func (t *Timer) Unref() {
	runtime.AddCleanup(t, func(timer *time.Timer) { timer.Stop() }, t.timer)
}

// SetTimeout calls fn in its own goroutine after sleep, unless the timer is stopped first.
func SetTimeout(fn func(), sleep time.Duration) *Timer {
	return &Timer{timer: time.AfterFunc(sleep, fn), sleep: sleep}
}

func ClearTimeout(timer *Timer) {
	if timer != nil {
		timer.Stop()
	}
}

// Stop keeps the timer from firing (again).
func (t *Timer) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.timer.Stop()
}

// SetInterval calls fn in its own goroutine every sleep until the timer is stopped.
func SetInterval(fn func(), sleep time.Duration) *Timer {
	t := &Timer{sleep: sleep}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = time.AfterFunc(sleep, func() { t.tick(fn) })
	return t
}

// tick re-arms an interval and runs its callback, unless the interval was stopped.
func (t *Timer) tick(fn func()) {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.timer.Reset(t.sleep)
	t.mu.Unlock()
	fn()
}

func ClearInterval(timer *Timer) {
	ClearTimeout(timer)
}
