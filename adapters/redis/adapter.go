package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/adapters/adapter/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// AdapterOptions configures NewAdapter. Every field has a usable zero value.
type AdapterOptions struct {
	// KeyPrefix starts every channel name; Node servers and emitters that share rooms
	// with iohub use it as their key / channelPrefix (config key redis.key_prefix;
	// default "socket.io", Node's default).
	KeyPrefix string
	// Sharded uses Redis 7 sharded pub/sub (SPUBLISH) and Node's sharded adapter format
	// (config key redis.sharded; default false: classic PUBLISH, Node's classic format for
	// room broadcasts). See the package documentation.
	Sharded bool
	// RoomChannels, in sharded mode, also subscribes the channel "P#nsp#<room>#" of every
	// room (socket id rooms included) while the room has sockets on this node: the
	// channels Node's sharded adapter publishes single-room broadcasts on in its default
	// subscriptionMode "dynamic". Off (default): Node servers must use "static". Costs one
	// SSUBSCRIBE per new room and per connecting socket.
	RoomChannels bool
	// HeartbeatInterval is how often a node tells the others it is alive (default 5s).
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a silent node still counts as alive (default 10s).
	HeartbeatTimeout time.Duration
	// ReplayLength is how many recent messages each namespace keeps in its replay stream
	// "P-replay#nsp#", from which a node that lost Redis catches up (default 10000).
	ReplayLength int64
	// PublishTimeout bounds each publish and subscribe round trip to Redis (default 2s).
	PublishTimeout time.Duration
	// Logger receives Redis errors and dropped messages (default slog.Default()).
	Logger *slog.Logger
	// Registerer, when set, exports the adapter's counters (messages published and
	// received by type, invalid messages, request timeouts, Redis errors).
	Registerer prometheus.Registerer
}

// withDefaults fills in the documented defaults.
func (o AdapterOptions) withDefaults() AdapterOptions {
	if o.KeyPrefix == "" {
		o.KeyPrefix = "socket.io"
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 5 * time.Second
	}
	if o.HeartbeatTimeout <= 0 {
		o.HeartbeatTimeout = 10 * time.Second
	}
	if o.ReplayLength <= 0 {
		o.ReplayLength = 10000
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Adapter is the Redis cluster adapter of one Socket.IO server: pass it to
// socket.ServerOptions.SetAdapter (it is a socket.AdapterConstructor) and Close it after
// the Socket.IO server is closed. It owns one subscriber connection and the one
// goroutine that reads it; every namespace adapter it creates shares them.
//
// Messages from other nodes are handled on that goroutine, in order: serverSideEmit
// handlers run there too, so they must not wait for another cluster request (its answers
// would queue behind them).
//
// While Redis is unreachable, local delivery goes on, publishes fail within 50ms
// (counted; the loss is logged once), and the subscriber retries every 200ms at most;
// when Redis is back, go-redis resubscribes, the node catches up from the replay streams
// on what other iohub nodes published while it was away (see replay.go), and every
// namespace announces itself again. What Node peers publish meanwhile is lost, as with any
// Redis pub/sub.
type Adapter struct {
	client  *goredis.Client
	opts    AdapterOptions
	log     *slog.Logger
	metrics *metrics
	sub     *goredis.PubSub

	ctx    context.Context // canceled by Close; bounds every Redis call
	cancel context.CancelFunc
	done   chan struct{} // closed when the subscriber goroutine has returned
	down   atomic.Bool   // the subscriber lost Redis: publishes get a short timeout
	replay *replayLog

	mu      sync.RWMutex
	routes  map[string]route // subscribed channel or pattern -> receiver
	nsps    map[*nspAdapter]struct{}
	waiters map[string][]chan struct{} // channel or pattern -> closed when Redis confirms the subscription

	closeOnce sync.Once
}

// routeKind tells what a subscribed channel carries.
type routeKind int

const (
	routeMessages  routeKind = iota // envelopes for every node
	routeResponses                  // envelopes answering this node's requests
	routeClassic                    // classic broadcasts (pattern subscription)
)

// route delivers what arrives on one channel or pattern to a namespace adapter.
type route struct {
	nsp  *nspAdapter
	kind routeKind
}

// NewAdapter checks that Redis answers (and, in sharded mode, that it is Redis 7 or
// newer) and starts the subscriber. The client must not be a cluster client. ctx bounds
// only the checks; Close stops the adapter.
func NewAdapter(ctx context.Context, client *goredis.Client, opts AdapterOptions) (*Adapter, error) {
	opts = opts.withDefaults()
	if err := checkServer(ctx, client, opts.Sharded); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		client:  client,
		opts:    opts,
		log:     opts.Logger.With("component", "redis-adapter"),
		metrics: m,
		sub:     client.Subscribe(ctx),
		done:    make(chan struct{}),
		routes:  make(map[string]route),
		nsps:    make(map[*nspAdapter]struct{}),
		waiters: make(map[string][]chan struct{}),
		replay:  newReplayLog(opts.HeartbeatInterval),
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.receive()
	return a, nil
}

// checkServer pings Redis and, for sharded pub/sub, requires version 7 or newer.
func checkServer(ctx context.Context, client *goredis.Client, sharded bool) error {
	if err := client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis adapter: ping: %w", err)
	}
	if !sharded {
		return nil
	}
	info, err := client.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("redis adapter: server version: %w", err)
	}
	version := redisVersion(info)
	major, _, _ := strings.Cut(version, ".")
	if n, _ := strconv.Atoi(major); n < 7 {
		return fmt.Errorf("redis adapter: sharded pub/sub (redis.sharded) needs Redis 7 or newer, server is %q", version)
	}
	return nil
}

// redisVersion reads redis_version from INFO output ("" when absent).
func redisVersion(info string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return ""
}

// New creates the adapter of one namespace (socket.AdapterConstructor). The Socket.IO
// server calls it for every namespace it creates.
func (a *Adapter) New(nsp socket.Namespace) socket.Adapter {
	n := &nspAdapter{ClusterAdapterWithHeartbeat: adapter.MakeClusterAdapterWithHeartbeat(), set: a}
	n.Prototype(n)
	heartbeat := adapter.DefaultClusterAdapterOptions()
	heartbeat.SetHeartbeatInterval(a.opts.HeartbeatInterval)
	heartbeat.SetHeartbeatTimeout(a.opts.HeartbeatTimeout.Milliseconds())
	n.SetOpts(heartbeat)
	n.Construct(nsp)
	n.name = nsp.Name()
	n.ch = newChannels(a.opts.KeyPrefix, a.opts.Sharded, n.name, n.Uid())
	a.register(n)
	if a.opts.Sharded && a.opts.RoomChannels {
		_ = n.On("create-room", n.onRoomEvent)
		_ = n.On("delete-room", n.onRoomEvent)
	}
	return n
}

// Close closes the namespace adapters still open (each tells the other nodes it leaves),
// then the subscriber connection, and waits for the subscriber goroutine to return.
func (a *Adapter) Close() error {
	var err error
	a.closeOnce.Do(func() {
		for _, n := range a.openNamespaces() {
			n.Close()
		}
		a.cancel()
		if cerr := a.sub.Close(); cerr != nil {
			err = fmt.Errorf("redis adapter: close subscriber: %w", cerr)
		}
		<-a.done
	})
	return err
}

// openNamespaces lists the namespace adapters not yet closed.
func (a *Adapter) openNamespaces() []*nspAdapter {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]*nspAdapter, 0, len(a.nsps))
	for n := range a.nsps {
		out = append(out, n)
	}
	return out
}

// register routes n's channels to it, subscribes them and waits (up to PublishTimeout)
// until Redis confirms, so that the namespace hears the answers to its first heartbeat.
// A failed subscribe is retried by go-redis when the subscriber reconnects.
func (a *Adapter) register(n *nspAdapter) {
	keys := []string{n.ch.main, n.ch.self, n.ch.pattern}
	confirmed := make([]chan struct{}, len(keys))
	a.mu.Lock()
	a.nsps[n] = struct{}{}
	for i, kind := range []routeKind{routeMessages, routeResponses, routeClassic} {
		a.routes[keys[i]] = route{nsp: n, kind: kind}
		confirmed[i] = make(chan struct{})
		a.waiters[keys[i]] = append(a.waiters[keys[i]], confirmed[i])
	}
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(a.ctx, a.opts.PublishTimeout)
	defer cancel()
	err := errors.Join(a.subscribe(ctx, n.ch.main, n.ch.self), a.sub.PSubscribe(ctx, n.ch.pattern))
	if err != nil {
		a.redisError("subscribe", err, "nsp", n.name)
		return
	}
	for _, c := range confirmed {
		select {
		case <-c:
		case <-ctx.Done():
			a.log.Warn("redis subscription not confirmed in time", "nsp", n.name)
			return
		}
	}
}

// confirm wakes the registrations waiting for a subscription to key.
func (a *Adapter) confirm(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.waiters[key] {
		close(c)
	}
	delete(a.waiters, key)
}

// unregister stops routing to n and unsubscribes its channels (room channels included).
func (a *Adapter) unregister(n *nspAdapter) {
	var channels []string
	a.mu.Lock()
	delete(a.nsps, n)
	for key, r := range a.routes {
		if r.nsp == n {
			delete(a.routes, key)
			if r.kind != routeClassic {
				channels = append(channels, key)
			}
		}
	}
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(a.ctx, a.opts.PublishTimeout)
	defer cancel()
	err := errors.Join(a.unsubscribe(ctx, channels...), a.sub.PUnsubscribe(ctx, n.ch.pattern))
	if err != nil && a.ctx.Err() == nil {
		a.redisError("unsubscribe", err, "nsp", n.name)
	}
}

// subscribe and unsubscribe (un)subscribe envelope channels: SSUBSCRIBE in sharded mode.
func (a *Adapter) subscribe(ctx context.Context, channels ...string) error {
	if a.opts.Sharded {
		return a.sub.SSubscribe(ctx, channels...)
	}
	return a.sub.Subscribe(ctx, channels...)
}

func (a *Adapter) unsubscribe(ctx context.Context, channels ...string) error {
	if a.opts.Sharded {
		return a.sub.SUnsubscribe(ctx, channels...)
	}
	return a.sub.Unsubscribe(ctx, channels...)
}

// setRoomChannel subscribes n to a room channel or unsubscribes it.
func (a *Adapter) setRoomChannel(n *nspAdapter, channel string, on bool) {
	a.mu.Lock()
	on = on && !n.closed.Load() // unregister runs after closed is set, under a.mu
	r, subscribed := a.routes[channel]
	switch {
	case on && !subscribed:
		a.routes[channel] = route{nsp: n, kind: routeMessages}
	case !on && subscribed && r.nsp == n:
		delete(a.routes, channel)
	default:
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(a.ctx, a.opts.PublishTimeout)
	defer cancel()
	op, do := "subscribe", a.subscribe
	if !on {
		op, do = "unsubscribe", a.unsubscribe
	}
	if err := do(ctx, channel); err != nil && a.ctx.Err() == nil {
		a.redisError(op, err, "nsp", n.name, "channel", channel)
	}
}

// Backoff bounds between attempts to reach Redis again after the subscriber lost it.
// The bound is short: until the subscriber is back, this node neither publishes nor
// hears the others, so every message of that window is lost; a refused connect is cheap.
const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = 200 * time.Millisecond
)

// receive is the subscriber goroutine: it hands every message to its namespace adapter
// in arrival order, pings an idle connection, and after losing Redis reconnects (go-redis
// resubscribes every channel) and has every namespace announce itself again.
func (a *Adapter) receive() {
	defer close(a.done)
	backoff := minBackoff
	lost := false
	for {
		msg, err := a.sub.ReceiveTimeout(a.ctx, a.opts.HeartbeatInterval)
		if a.ctx.Err() != nil {
			return
		}
		switch {
		case isTimeout(err):
			a.ping()
		case err != nil:
			if !lost {
				a.replay.lost(2 * a.opts.HeartbeatInterval)
			}
			lost = true
			a.metrics.redisErrors.WithLabelValues("receive").Inc()
			if !a.down.Swap(true) {
				a.log.Warn("lost redis; publishes time out after 50ms until the subscriber is back", "err", err)
			}
			if !a.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
		default:
			backoff = minBackoff
			a.handle(msg, &lost)
		}
	}
}

// handle routes one message of the subscriber connection. Anything that arrives means
// Redis is reachable again.
func (a *Adapter) handle(msg any, lost *bool) {
	a.down.Store(false)
	switch m := msg.(type) {
	case *goredis.Message:
		a.dispatch(m)
	case *goredis.Subscription:
		a.confirm(m.Channel)
		if *lost {
			*lost = false
			a.log.Info("redis subscriber resumed")
			a.catchUp()
			a.announce()
		}
	}
}

// isTimeout reports a read deadline expiring on an idle subscriber connection.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ping checks an idle subscriber connection; a failing one is replaced by go-redis.
func (a *Adapter) ping() {
	ctx, cancel := context.WithTimeout(a.ctx, a.opts.PublishTimeout)
	defer cancel()
	if err := a.sub.Ping(ctx); err != nil && a.ctx.Err() == nil {
		a.redisError("ping", err)
	}
}

// sleep waits d, or returns false at once when the adapter is closed.
func (a *Adapter) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.ctx.Done():
		return false
	}
}

// announce has every namespace adapter send its initial heartbeat again, so the other
// nodes answer at once instead of at their next heartbeat.
func (a *Adapter) announce() {
	for _, n := range a.openNamespaces() {
		n.reannounce()
	}
}

// dispatch hands a message to the namespace adapter subscribed to its channel, unless
// it was handled from a replay stream already.
func (a *Adapter) dispatch(msg *goredis.Message) {
	key := msg.Channel
	if msg.Pattern != "" {
		key = msg.Pattern
	}
	a.mu.RLock()
	r, ok := a.routes[key]
	a.mu.RUnlock()
	if ok && (r.kind == routeResponses || a.replay.received(msg.Channel, msg.Payload)) {
		r.nsp.handle(r.kind, []byte(msg.Payload))
	}
}

// downTimeout bounds a publish while the subscriber has lost Redis, so that local
// delivery, which waits for the publish, is slowed down little by an outage. Every
// publish still tries: one that fails at once would be lost in the moments when Redis is
// back but the subscriber has not noticed yet, after the store accepted the message.
const downTimeout = 50 * time.Millisecond

// publish sends payload on channel (SPUBLISH in sharded mode) and counts it. A message
// for every node (nsp != "") also goes into the namespace's replay stream; a response
// to one node (nsp == "") does not.
func (a *Adapter) publish(nsp, channel string, payload []byte, t adapter.MessageType) error {
	timeout := a.opts.PublishTimeout
	if a.down.Load() {
		timeout = min(timeout, downTimeout)
	}
	ctx, cancel := context.WithTimeout(a.ctx, timeout)
	defer cancel()
	var err error
	switch {
	case nsp != "":
		err = a.publishLogged(ctx, nsp, channel, payload)
	case a.opts.Sharded:
		err = a.client.SPublish(ctx, channel, payload).Err()
	default:
		err = a.client.Publish(ctx, channel, payload).Err()
	}
	if err != nil {
		if a.down.Load() { // the loss is logged once already
			a.metrics.redisErrors.WithLabelValues("publish").Inc()
		} else {
			a.redisError("publish", err, "type", typeName(t))
		}
		return fmt.Errorf("redis adapter: publish %s: %w", typeName(t), err)
	}
	a.metrics.published.WithLabelValues(typeName(t)).Inc()
	return nil
}

// redisError logs and counts a failed Redis operation.
func (a *Adapter) redisError(op string, err error, attrs ...any) {
	a.metrics.redisErrors.WithLabelValues(op).Inc()
	a.log.Warn("redis "+op+" failed", append(attrs, "err", err)...)
}

// dropInvalid logs and counts a message that cannot be used.
func (a *Adapter) dropInvalid(nsp string, err error) {
	a.metrics.invalid.Inc()
	a.log.Warn("dropped message from redis", "nsp", nsp, "err", err)
}

// requestTimedOut logs and counts a cluster request that did not get every answer.
func (a *Adapter) requestTimedOut(nsp, request string, err error) {
	a.metrics.requestTimeouts.Inc()
	a.log.Warn("cluster request timed out", "nsp", nsp, "request", request, "err", err)
}
