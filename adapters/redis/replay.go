package redis

import (
	"context"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Pub/sub forgets: what is published while a node's subscriber is reconnecting never
// reaches that node. So every message an iohub node publishes for all nodes also goes,
// in the same round trip, into a capped stream per namespace, "P-replay#nsp#". A
// subscriber that lost Redis reads, once it is back and before anything newer, the
// entries from shortly before the loss and handles those it had not received. Messages
// are known by a hash of channel and payload: the ones received shortly before the loss
// are skipped, and a replayed message that then also arrives by pub/sub is dropped.

// replayKey is the replay stream of namespace nsp.
func replayKey(prefix, nsp string) string { return prefix + "-replay#" + nsp + "#" }

// messageHash identifies a message by its channel and payload.
func messageHash(channel, payload string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(channel))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(payload))
	return h.Sum64()
}

// hashWindow is a set of message hashes that forgets them after ttl.
type hashWindow struct {
	ttl   time.Duration
	at    map[uint64]time.Time
	order []stamped
}

// stamped is a hash and when it entered the window.
type stamped struct {
	hash uint64
	at   time.Time
}

func newHashWindow(ttl time.Duration) *hashWindow {
	return &hashWindow{ttl: ttl, at: make(map[uint64]time.Time)}
}

// add records h at now and forgets what is older than ttl.
func (w *hashWindow) add(h uint64, now time.Time) {
	w.prune(now)
	w.at[h] = now
	w.order = append(w.order, stamped{h, now})
}

// take reports whether h is in the window and removes it.
func (w *hashWindow) take(h uint64) bool {
	_, ok := w.at[h]
	delete(w.at, h)
	return ok
}

// prune forgets the hashes older than ttl.
func (w *hashWindow) prune(now time.Time) {
	i := 0
	for ; i < len(w.order) && now.Sub(w.order[i].at) > w.ttl; i++ {
		if w.at[w.order[i].hash] == w.order[i].at {
			delete(w.at, w.order[i].hash)
		}
	}
	w.order = w.order[i:]
}

// replayLog is the subscriber side of the replay streams and the newest entry ID this
// node wrote. seen, replayed and from belong to the subscriber goroutine.
type replayLog struct {
	mu     sync.Mutex
	lastID string // newest ID this node's XADDs returned

	seen     *hashWindow // received by pub/sub recently
	replayed *hashWindow // handled from a stream, perhaps still coming by pub/sub
	from     string      // after a loss: replay the entries after this ID
}

// newReplayLog keeps hashes for twice the heartbeat interval: this node writes to the
// stream (and so learns a recent entry ID) at least once per heartbeat interval.
func newReplayLog(heartbeat time.Duration) *replayLog {
	return &replayLog{seen: newHashWindow(2 * heartbeat), replayed: newHashWindow(2 * heartbeat)}
}

// noteID records the ID of an entry this node wrote.
func (r *replayLog) noteID(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if streamIDLess(r.lastID, id) {
		r.lastID = id
	}
}

// lost marks the moment the subscriber lost Redis: the replay starts at the newest entry
// this node wrote, or, before it wrote any, at back (a stream ID from the local clock).
func (r *replayLog) lost(back time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.from = r.lastID
	if r.from == "" {
		r.from = strconv.FormatInt(time.Now().Add(-back).UnixMilli(), 10) + "-0"
	}
}

// received tells whether a pub/sub message is new (not handled from a stream already).
func (r *replayLog) received(channel, payload string) bool {
	return firstCopy(messageHash(channel, payload), r.replayed, r.seen)
}

// missed tells whether a stream entry is one the subscriber did not receive before the
// loss, and if so remembers it so that its pub/sub copy, if any, is dropped.
func (r *replayLog) missed(channel, payload string) bool {
	return firstCopy(messageHash(channel, payload), r.seen, r.replayed)
}

// firstCopy tells whether the message hashed h is the first of its two copies (pub/sub
// and stream): not already in other, the window of the other path's copies. A first copy
// is remembered in own so that the other path drops its copy; a second one is forgotten.
func firstCopy(h uint64, other, own *hashWindow) bool {
	if other.take(h) {
		return false
	}
	own.add(h, time.Now())
	return true
}

// streamIDLess compares stream IDs ("ms-seq"); "" is less than any ID.
func streamIDLess(a, b string) bool {
	if a == "" || b == "" {
		return a == "" && b != ""
	}
	ams, aseq, _ := strings.Cut(a, "-")
	bms, bseq, _ := strings.Cut(b, "-")
	am, _ := strconv.ParseUint(ams, 10, 64)
	bm, _ := strconv.ParseUint(bms, 10, 64)
	if am != bm {
		return am < bm
	}
	as, _ := strconv.ParseUint(aseq, 10, 64)
	bs, _ := strconv.ParseUint(bseq, 10, 64)
	return as < bs
}

// publishLogged publishes payload on channel and appends it to the namespace's replay
// stream, in one round trip, and returns the publish error.
func (a *Adapter) publishLogged(ctx context.Context, nsp, channel string, payload []byte) error {
	pipe := a.client.Pipeline()
	var pub *goredis.IntCmd
	if a.opts.Sharded {
		pub = pipe.SPublish(ctx, channel, payload)
	} else {
		pub = pipe.Publish(ctx, channel, payload)
	}
	add := pipe.XAdd(ctx, &goredis.XAddArgs{
		Stream: replayKey(a.opts.KeyPrefix, nsp),
		MaxLen: a.opts.ReplayLength,
		Approx: true,
		Values: []any{"c", channel, "p", payload},
	})
	_, _ = pipe.Exec(ctx)
	if err := add.Err(); err == nil {
		a.replay.noteID(add.Val())
	} else if pub.Err() == nil {
		a.redisError("replay log", err, "nsp", nsp)
	}
	return pub.Err()
}

// catchUp handles, for every namespace, the stream entries the subscriber missed while
// it had lost Redis. It runs on the subscriber goroutine before any newer message.
func (a *Adapter) catchUp() {
	for _, n := range a.openNamespaces() {
		if err := a.catchUpNamespace(n); err != nil {
			a.redisError("replay", err, "nsp", n.name)
		}
	}
}

// catchUpNamespace replays the missed entries of one namespace in order.
func (a *Adapter) catchUpNamespace(n *nspAdapter) error {
	entries, err := a.missedEntries(n)
	if err != nil {
		return err
	}
	replayed := 0
	for _, e := range entries {
		channel, _ := e.Values["c"].(string)
		payload, _ := e.Values["p"].(string)
		if !a.replay.missed(channel, payload) {
			continue
		}
		replayed++
		kind := routeMessages
		if !a.opts.Sharded && strings.HasPrefix(channel, n.ch.classic) {
			kind = routeClassic
		}
		n.handle(kind, []byte(payload))
	}
	if replayed > 0 {
		a.log.Info("replayed messages missed while redis was lost", "nsp", n.name, "count", replayed)
	}
	return nil
}

// catchUpPatience bounds how long the subscriber keeps trying to read a replay stream
// before it goes on without: right after Redis is back, go-redis may refuse new
// connections for up to a second (its dial circuit breaker) although the subscriber's
// own connection is up again.
const catchUpPatience = 5 * time.Second

// missedEntries reads the replay stream of n from the loss on, retrying with backoff.
func (a *Adapter) missedEntries(n *nspAdapter) ([]goredis.XMessage, error) {
	deadline := time.Now().Add(catchUpPatience)
	backoff := minBackoff
	for {
		ctx, cancel := context.WithTimeout(a.ctx, a.opts.PublishTimeout)
		entries, err := a.client.XRangeN(ctx, replayKey(a.opts.KeyPrefix, n.name), "("+a.replay.from, "+", a.opts.ReplayLength).Result()
		cancel()
		if err == nil || time.Now().After(deadline) || !a.sleep(backoff) {
			return entries, err
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
