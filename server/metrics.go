package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/iohub/iohub/server/chat"
)

// metrics are the node's Prometheus series, on a registry of its own (so several servers
// can live in one process, as tests do).
type metrics struct {
	registry   *prometheus.Registry
	sockets    *prometheus.GaugeVec
	eventsIn   *prometheus.CounterVec
	eventsOut  *prometheus.CounterVec
	replies    *prometheus.CounterVec
	authFailed *prometheus.CounterVec
	storeTime  *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		sockets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "iohub_connected_sockets", Help: "Connected sockets per namespace.",
		}, []string{"namespace"}),
		eventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_events_in_total", Help: "Client events received, by name.",
		}, []string{"event"}),
		eventsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_events_out_total", Help: "Server events emitted, by name (a room broadcast counts once).",
		}, []string{"event"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_replies_total", Help: "Replies to client events (acks and their fallbacks), by event and result (ok or an error code).",
		}, []string{"event", "result"}),
		authFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_auth_failures_total", Help: "Refused connections, by connect_error code.",
		}, []string{"code"}),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "iohub_store_seconds", Help: "Store call latency, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}, []string{"op"}),
	}
	m.registry.MustRegister(m.sockets, m.eventsIn, m.eventsOut, m.replies, m.authFailed, m.storeTime,
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
func (m *metrics) EventIn(event string) { m.eventsIn.WithLabelValues(eventLabel(event)).Inc() }

// EventOut implements sio.Observer.
func (m *metrics) EventOut(event string) { m.eventsOut.WithLabelValues(eventLabel(event)).Inc() }

// Replied implements sio.Observer.
func (m *metrics) Replied(event string, code chat.Code) {
	result := "ok"
	if code != "" {
		result = string(code)
	}
	m.replies.WithLabelValues(eventLabel(event), result).Inc()
}

// AuthFailed implements sio.Observer.
func (m *metrics) AuthFailed(code string) { m.authFailed.WithLabelValues(code).Inc() }

// SocketsChanged implements sio.Observer.
func (m *metrics) SocketsChanged(namespace string, delta int) {
	m.sockets.WithLabelValues(namespace).Add(float64(delta))
}

// timedStore measures every call of the store it wraps.
type timedStore struct {
	chat.Store
	seconds *prometheus.HistogramVec
}

func (t timedStore) observe(op string, start time.Time) {
	t.seconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (t timedStore) Append(ctx context.Context, room chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	defer t.observe("append", time.Now())
	return t.Store.Append(ctx, room, msg)
}

func (t timedStore) History(ctx context.Context, room chat.RoomRef, before string, limit int) ([]chat.Message, bool, error) {
	defer t.observe("history", time.Now())
	return t.Store.History(ctx, room, before, limit)
}

func (t timedStore) MarkRead(ctx context.Context, room chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	defer t.observe("mark_read", time.Now())
	return t.Store.MarkRead(ctx, room, userID, messageID)
}

func (t timedStore) ReadState(ctx context.Context, room chat.RoomRef, userID string) (string, int, error) {
	defer t.observe("read_state", time.Now())
	return t.Store.ReadState(ctx, room, userID)
}
