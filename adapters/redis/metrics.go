package redis

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/adapters/adapter/v3"
)

// metrics counts what the cluster adapter does. The counters always exist; they are
// exported only when AdapterOptions.Registerer is set.
type metrics struct {
	published       *prometheus.CounterVec // label type
	received        *prometheus.CounterVec // label type
	invalid         prometheus.Counter
	requestTimeouts prometheus.Counter
	redisErrors     *prometheus.CounterVec // label op
}

// newMetrics creates the adapter counters and registers them on reg unless reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_redis_adapter_messages_published_total",
			Help: "Cluster messages this node published to Redis, by message type.",
		}, []string{"type"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_redis_adapter_messages_received_total",
			Help: "Cluster messages this node received from Redis, by message type.",
		}, []string{"type"}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iohub_redis_adapter_messages_invalid_total",
			Help: "Messages from Redis that could not be decoded and were dropped.",
		}),
		requestTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "iohub_redis_adapter_request_timeouts_total",
			Help: "fetchSockets and serverSideEmit requests that timed out waiting for other nodes.",
		}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "iohub_redis_adapter_errors_total",
			Help: "Failed Redis operations of the cluster adapter, by operation.",
		}, []string{"op"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.published, m.received, m.invalid, m.requestTimeouts, m.redisErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register redis adapter metrics: %w", err)
		}
	}
	return m, nil
}

// typeNames are the metric label values of the cluster message types.
var typeNames = map[adapter.MessageType]string{
	adapter.INITIAL_HEARTBEAT:         "initial_heartbeat",
	adapter.HEARTBEAT:                 "heartbeat",
	adapter.BROADCAST:                 "broadcast",
	adapter.SOCKETS_JOIN:              "sockets_join",
	adapter.SOCKETS_LEAVE:             "sockets_leave",
	adapter.DISCONNECT_SOCKETS:        "disconnect_sockets",
	adapter.FETCH_SOCKETS:             "fetch_sockets",
	adapter.FETCH_SOCKETS_RESPONSE:    "fetch_sockets_response",
	adapter.SERVER_SIDE_EMIT:          "server_side_emit",
	adapter.SERVER_SIDE_EMIT_RESPONSE: "server_side_emit_response",
	adapter.BROADCAST_CLIENT_COUNT:    "broadcast_client_count",
	adapter.BROADCAST_ACK:             "broadcast_ack",
	adapter.ADAPTER_CLOSE:             "adapter_close",
}

// typeName is the label value of t ("unknown" for a type the library does not define).
func typeName(t adapter.MessageType) string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return "unknown"
}
