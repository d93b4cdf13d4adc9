package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/iohub/iohub/server/chat"
)

// metrics are the node's Prometheus series, on a registry of its own (so several servers
// can live in one process, as tests do). The series counted on every event are looked up
// through caches: WithLabelValues hashes and validates its labels on every call.
type metrics struct {
	registry   *prometheus.Registry
	sockets    *prometheus.GaugeVec
	eventsIn   *counterCache
	eventsOut  *counterCache
	replies    *counterCache
	authFailed *prometheus.CounterVec
	storeTime  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	eventsIn := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iohub_events_in_total", Help: "Client events received, by name.",
	}, []string{"event"})
	eventsOut := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iohub_events_out_total", Help: "Server events emitted, by name (a room broadcast counts once).",
	}, []string{"event"})
	replies := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iohub_replies_total", Help: "Replies to client events (acks and their fallbacks), by event and result (ok or an error code).",
	}, []string{"event", "result"})
	m := &metrics{
		registry: prometheus.NewRegistry(),
		sockets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "iohub_connected_sockets", Help: "Connected sockets per namespace.",
		}, []string{"namespace"}),
		eventsIn:  newCounterCache(eventsIn),
		eventsOut: newCounterCache(eventsOut),
		replies:   newCounterCache(replies),
		authFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_auth_failures_total", Help: "Refused connections, by connect_error code.",
		}, []string{"code"}),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iohub_store_seconds", Help: "Store call latency, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}, []string{"op"}),
	}
	m.registry.MustRegister(m.sockets, eventsIn, eventsOut, replies, m.authFailed, m.storeTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// knownEvents bounds the event label's values: clients (and API callers) choose event names.
var knownEvents = map[string]bool{
	"join_room": true, "leave_room": true, "send_message": true, "fetch_history": true,
	"read_messages": true, "typing_start": true, "typing": true, "typing_end": true,
	chat.EventNewMessage: true, chat.EventUserJoined: true, chat.EventUserLeft: true,
	chat.EventRoomUsers: true, chat.EventUserTyping: true, chat.EventMessagesRead: true,
}

func eventLabel(event string) string {
	if knownEvents[event] {
		return event
	}
	return "other"
}

// EventIn implements sio.Observer.
func (m *metrics) EventIn(event string) { m.eventsIn.get(eventLabel(event), "").Inc() }

// EventOut implements sio.Observer.
func (m *metrics) EventOut(event string) { m.eventsOut.get(eventLabel(event), "").Inc() }

// Replied implements sio.Observer.
func (m *metrics) Replied(event string, code chat.Code) {
	result := "ok"
	if code != "" {
		result = string(code)
	}
	m.replies.get(eventLabel(event), result).Inc()
}

// AuthFailed implements sio.Observer.
func (m *metrics) AuthFailed(code string) { m.authFailed.WithLabelValues(code).Inc() }

// SocketsChanged implements sio.Observer.
func (m *metrics) SocketsChanged(namespace string, delta int) {
	m.sockets.WithLabelValues(namespace).Add(float64(delta))
}

// counterCache remembers the children of a counter vector by their (at most two) label
// values, so that counting an event costs a map lookup under a read lock.
type counterCache struct {
	vec      *prometheus.CounterVec
	mu       sync.RWMutex
	children map[[2]string]prometheus.Counter
}

func newCounterCache(vec *prometheus.CounterVec) *counterCache {
	return &counterCache{vec: vec, children: make(map[[2]string]prometheus.Counter)}
}

// get returns the child for label values a and, when the vector has two labels, b.
func (c *counterCache) get(a, b string) prometheus.Counter {
	key := [2]string{a, b}
	c.mu.RLock()
	child, ok := c.children[key]
	c.mu.RUnlock()
	if ok {
		return child
	}
	if b == "" {
		child = c.vec.WithLabelValues(a)
	} else {
		child = c.vec.WithLabelValues(a, b)
	}
	c.mu.Lock()
	c.children[key] = child
	c.mu.Unlock()
	return child
}

// timedStore measures every call of the store it wraps.
type timedStore struct {
	chat.Store
	append, findSent, history, markRead, readState prometheus.Observer
}

// newTimedStore wraps s. When s is a chat.AsyncAppender and async is true, so is the
// wrapper: a store's asynchronous answers run on its goroutine and broadcast from there,
// which suits only a Broadcaster that does not block.
func newTimedStore(s chat.Store, seconds *prometheus.HistogramVec, async bool) chat.Store {
	t := timedStore{
		Store:     s,
		append:    seconds.WithLabelValues("append"),
		findSent:  seconds.WithLabelValues("find_sent"),
		history:   seconds.WithLabelValues("history"),
		markRead:  seconds.WithLabelValues("mark_read"),
		readState: seconds.WithLabelValues("read_state"),
	}
	if a, ok := s.(chat.AsyncAppender); ok && async {
		return timedAsyncStore{timedStore: t, async: a}
	}
	return t
}

// timedAsyncStore is a timedStore of a chat.AsyncAppender.
type timedAsyncStore struct {
	timedStore
	async chat.AsyncAppender
}

// AppendAsync measures from the call to done.
func (t timedAsyncStore) AppendAsync(ctx context.Context, room chat.RoomRef, msg chat.Message, done func(chat.Message, bool, error)) {
	start := time.Now()
	t.async.AppendAsync(ctx, room, msg, func(stored chat.Message, dup bool, err error) {
		observeSince(t.append, start)
		done(stored, dup, err)
	})
}

func observeSince(o prometheus.Observer, start time.Time) {
	o.Observe(time.Since(start).Seconds())
}

func (t timedStore) Append(ctx context.Context, room chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	defer observeSince(t.append, time.Now())
	return t.Store.Append(ctx, room, msg)
}

func (t timedStore) FindSent(ctx context.Context, room chat.RoomRef, userID, clientMessageID string) (chat.Message, bool, error) {
	defer observeSince(t.findSent, time.Now())
	return t.Store.FindSent(ctx, room, userID, clientMessageID)
}

func (t timedStore) History(ctx context.Context, room chat.RoomRef, before string, limit int) ([]chat.Message, bool, error) {
	defer observeSince(t.history, time.Now())
	return t.Store.History(ctx, room, before, limit)
}

func (t timedStore) MarkRead(ctx context.Context, room chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	defer observeSince(t.markRead, time.Now())
	return t.Store.MarkRead(ctx, room, userID, messageID)
}

func (t timedStore) ReadState(ctx context.Context, room chat.RoomRef, userID string) (string, int, error) {
	defer observeSince(t.readState, time.Now())
	return t.Store.ReadState(ctx, room, userID)
}
