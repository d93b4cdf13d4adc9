package socket

import (
	"sync"
	"testing"
	"time"
)

func TestTaskQueueRunOrEnqueueRunsOnTheCaller(t *testing.T) {
	var q taskQueue
	ran := false
	q.RunOrEnqueue(func() { ran = true })
	if !ran {
		t.Fatal("an idle queue did not run the task before RunOrEnqueue returned")
	}
}

// TestTaskQueueKeepsOrder mixes both entry points from several goroutines: each sender's
// tasks must run in its order, one at a time.
func TestTaskQueueKeepsOrder(t *testing.T) {
	var q taskQueue
	const senders, each = 4, 500
	var (
		mu      sync.Mutex
		running bool
		last    [senders]int
		wg      sync.WaitGroup
		done    sync.WaitGroup
	)
	done.Add(senders * each)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				task := func() {
					defer done.Done()
					mu.Lock()
					if running {
						t.Error("two tasks ran at once")
					}
					running = true
					if last[s] != i {
						t.Errorf("sender %d: task %d ran after %d", s, i, last[s]-1)
					}
					last[s] = i + 1
					running = false
					mu.Unlock()
				}
				if i%2 == 0 {
					q.RunOrEnqueue(task)
				} else {
					q.Enqueue(task)
				}
			}
		}()
	}
	wg.Wait()
	waitOrFail(t, &done)
}

func TestTaskQueueClosedDropsNewTasksButRunsQueuedOnes(t *testing.T) {
	var q taskQueue
	var done sync.WaitGroup
	done.Add(2)
	ranLate := false
	q.RunOrEnqueue(func() {
		defer done.Done()
		q.Enqueue(done.Done) // queued before the close: runs
		q.TryClose()
		q.Enqueue(func() { ranLate = true })
	})
	waitOrFail(t, &done)
	if ranLate {
		t.Error("a task enqueued after TryClose ran")
	}
}

func TestTaskQueueSurvivesAPanic(t *testing.T) {
	var q taskQueue
	q.RunOrEnqueue(func() { panic("boom") })
	ran := false
	q.RunOrEnqueue(func() { ran = true })
	if !ran {
		t.Fatal("the queue stopped after a panicking task")
	}
}

func waitOrFail(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("tasks did not finish")
	}
}
