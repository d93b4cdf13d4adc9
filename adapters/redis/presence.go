package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/iohub/iohub/server/chat"
)

// PresenceOptions configures NewPresence. Every field has a usable zero value.
type PresenceOptions struct {
	// KeyPrefix starts every key (config key redis.key_prefix; default "iohub").
	KeyPrefix string
	// NodeTTL is how long a node that stopped heartbeating still counts as alive
	// (default 15s). Its sockets are purged within NodeTTL plus one heartbeat interval
	// (NodeTTL/3) after its last heartbeat.
	NodeTTL time.Duration
	// Logger receives Redis errors of the heartbeat and the sweeper (default slog.Default()).
	Logger *slog.Logger
}

// Presence is a chat.Presence in Redis that counts a user's sockets on every node.
//
// Per room (one hash tag per room):
//
//	<prefix>:{<room>}:p:sockets   hash: socket id -> "<node id>\n<user id>"
//	<prefix>:{<room>}:p:counts    hash: user id -> number of sockets
//	<prefix>:{<room>}:p:names     hash: user id -> user name
//	<prefix>:{<room>}:p:users     sorted set (all scores 0): user ids in byte order
//
// and per node: "<prefix>:presence:node:<id>" (expires after NodeTTL, refreshed every
// NodeTTL/3), "<prefix>:presence:node:<id>:rooms" (the rooms the node has sockets in), and
// the set "<prefix>:presence:nodes". A background goroutine heartbeats and sweeps: when a
// node's key has expired, the survivors remove its sockets, each room in one atomic script,
// and report every user who thereby left a room to the OnUserGone callbacks (each such
// user is reported by exactly one node).
//
// Presence also remembers its own node's sockets: when its node key turns out to have
// expired (Redis restarted empty, or this node was cut off long enough for the others to
// purge it), it adds them again.
//
// The per-node keys and the room keys live in different hash slots: Presence needs a
// single Redis server (or a primary with replicas), not a Redis Cluster.
type Presence struct {
	client goredis.UniversalClient
	opts   PresenceOptions
	log    *slog.Logger
	node   string

	mu    sync.Mutex
	local map[chat.RoomRef]map[string]chat.User // this node's sockets: room -> sid -> user
	gone  []func(chat.RoomRef, chat.User)
	back  []func(chat.RoomRef, chat.User)

	cancel context.CancelFunc
	done   chan struct{}
}

var _ chat.Presence = (*Presence)(nil)

// NewPresence registers this node and starts its heartbeat and sweeper goroutine; Close
// stops it. ctx bounds only the registration.
func NewPresence(ctx context.Context, client goredis.UniversalClient, opts PresenceOptions) (*Presence, error) {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "iohub"
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Presence{
		client: client,
		opts:   opts,
		log:    opts.Logger.With("component", "redis-presence"),
		node:   randomID(),
		local:  make(map[chat.RoomRef]map[string]chat.User),
		done:   make(chan struct{}),
	}
	if _, err := p.beat(ctx); err != nil {
		return nil, err
	}
	if err := client.SAdd(ctx, p.nodesKey(), p.node).Err(); err != nil {
		return nil, fmt.Errorf("redis presence: register node: %w", err)
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(loopCtx)
	return p, nil
}

// randomID is a node id: 16 random hex digits.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// OnUserGone registers fn to learn of users who left a room because their node died.
// fn runs on the sweeper goroutine, once per (room, user); keep it short.
func (p *Presence) OnUserGone(fn func(chat.RoomRef, chat.User)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gone = append(p.gone, fn)
}

// OnUserBack registers fn to learn of users who are present again in a room because this
// node's sockets were added back after its key had expired (Redis restarted empty, or the node
// was cut off long enough to be purged). fn runs on the heartbeat goroutine, once per (room,
// user) that the re-add made present again; keep it short.
func (p *Presence) OnUserBack(fn func(chat.RoomRef, chat.User)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.back = append(p.back, fn)
}

// Close stops the heartbeat and the sweeper and drops this node's key, so the other nodes
// purge the sockets still recorded for it (and report their users) at their next sweep.
func (p *Presence) Close() error {
	p.cancel()
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.NodeTTL/3)
	defer cancel()
	if err := p.client.Del(ctx, p.nodeKey(p.node)).Err(); err != nil {
		return fmt.Errorf("redis presence: close: %w", err)
	}
	return nil
}

func (p *Presence) nodesKey() string { return p.opts.KeyPrefix + ":presence:nodes" }

func (p *Presence) nodeKey(node string) string { return p.opts.KeyPrefix + ":presence:node:" + node }

func (p *Presence) nodeRoomsKey(node string) string { return p.nodeKey(node) + ":rooms" }

// roomID encodes a room unambiguously: "<len(namespace)>:<namespace>:<room>".
func roomID(room chat.RoomRef) string {
	return strconv.Itoa(len(room.Namespace)) + ":" + room.Namespace + ":" + room.Room
}

// parseRoomID is the inverse of roomID.
func parseRoomID(id string) (chat.RoomRef, bool) {
	n, rest, ok := strings.Cut(id, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || len(rest) < size+1 || rest[size] != ':' {
		return chat.RoomRef{}, false
	}
	return chat.RoomRef{Namespace: rest[:size], Room: rest[size+1:]}, true
}

// presenceKeys are the keys of one room, in the order the scripts take them.
func (p *Presence) presenceKeys(room chat.RoomRef) []string {
	base := p.opts.KeyPrefix + ":{" + roomID(room) + "}:p:"
	return []string{base + "sockets", base + "counts", base + "names", base + "users"}
}

// dropLua removes one socket of a user; it returns the user's name when that was the
// user's last socket in the room, else false. KEYS as presenceKeys.
const dropLua = `
local function drop(sid, user)
  redis.call('HDEL', KEYS[1], sid)
  if redis.call('HINCRBY', KEYS[2], user, -1) > 0 then return false end
  local name = redis.call('HGET', KEYS[3], user) or ''
  redis.call('HDEL', KEYS[2], user)
  redis.call('HDEL', KEYS[3], user)
  redis.call('ZREM', KEYS[4], user)
  return name
end
`

// addScript: ARGV sid, "<node>\n<user>", user, name. Returns 1 for the user's first socket.
var addScript = goredis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) > 1 then return 0 end
redis.call('ZADD', KEYS[4], 0, ARGV[3])
return 1
`)

// removeScript: ARGV sid, user. Returns 1 when it removed the user's last socket.
var removeScript = goredis.NewScript(dropLua + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local sep = string.find(v, '\n', 1, true)
if not sep or string.sub(v, sep + 1) ~= ARGV[2] then return 0 end
if drop(ARGV[1], ARGV[2]) then return 1 end
return 0
`)

// purgeScript: ARGV dead node. Removes the node's sockets and returns
// {user, name, ...} of the users who thereby left the room.
var purgeScript = goredis.NewScript(dropLua + `
local gone = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local v = all[i + 1]
  local sep = string.find(v, '\n', 1, true)
  if sep and string.sub(v, 1, sep - 1) == ARGV[1] then
    local user = string.sub(v, sep + 1)
    local name = drop(all[i], user)
    if name then
      table.insert(gone, user)
      table.insert(gone, name)
    end
  end
end
return gone
`)

// usersScript: ARGV max. Returns {count, user, name, ...} for the first max users.
var usersScript = goredis.NewScript(`
local out = {tostring(redis.call('ZCARD', KEYS[4]))}
if tonumber(ARGV[1]) <= 0 then return out end
for _, user in ipairs(redis.call('ZRANGE', KEYS[4], 0, tonumber(ARGV[1]) - 1)) do
  table.insert(out, user)
  table.insert(out, redis.call('HGET', KEYS[3], user) or '')
end
return out
`)

// Add implements chat.Presence.
func (p *Presence) Add(ctx context.Context, room chat.RoomRef, user chat.User, sid string) (bool, error) {
	p.remember(room, sid, user)
	first, err := p.add(ctx, room, user, sid)
	if err != nil {
		p.forget(room, sid)
	}
	return first, err
}

// add records a socket in Redis; the room goes into this node's index first, so the
// sweepers can always find the socket.
func (p *Presence) add(ctx context.Context, room chat.RoomRef, user chat.User, sid string) (bool, error) {
	if err := p.client.SAdd(ctx, p.nodeRoomsKey(p.node), roomID(room)).Err(); err != nil {
		return false, fmt.Errorf("redis presence: add: %w", err)
	}
	first, err := addScript.Run(ctx, p.client, p.presenceKeys(room),
		sid, p.node+"\n"+user.UserID, user.UserID, user.UserName).Int()
	if err != nil {
		return false, fmt.Errorf("redis presence: add: %w", err)
	}
	return first == 1, nil
}

// Remove implements chat.Presence.
func (p *Presence) Remove(ctx context.Context, room chat.RoomRef, userID, sid string) (bool, error) {
	last, err := removeScript.Run(ctx, p.client, p.presenceKeys(room), sid, userID).Int()
	if err != nil {
		return false, fmt.Errorf("redis presence: remove: %w", err)
	}
	p.forget(room, sid)
	return last == 1, nil
}

// Users implements chat.Presence.
func (p *Presence) Users(ctx context.Context, room chat.RoomRef, limit int) ([]chat.User, int, error) {
	res, err := usersScript.Run(ctx, p.client, p.presenceKeys(room), limit).StringSlice()
	if err != nil {
		return nil, 0, fmt.Errorf("redis presence: users: %w", err)
	}
	if len(res) == 0 || len(res)%2 != 1 {
		return nil, 0, fmt.Errorf("redis presence: users: unexpected reply %q", res)
	}
	count, err := strconv.Atoi(res[0])
	if err != nil {
		return nil, 0, fmt.Errorf("redis presence: users: %w", err)
	}
	users := make([]chat.User, 0, len(res)/2)
	for i := 1; i < len(res); i += 2 {
		users = append(users, chat.User{UserID: res[i], UserName: res[i+1]})
	}
	return users, count, nil
}

// remember records a socket of this node in the local mirror.
func (p *Presence) remember(room chat.RoomRef, sid string, user chat.User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.local[room] == nil {
		p.local[room] = make(map[string]chat.User)
	}
	p.local[room][sid] = user
}

// forget drops a socket from the local mirror.
func (p *Presence) forget(room chat.RoomRef, sid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.local[room], sid)
	if len(p.local[room]) == 0 {
		delete(p.local, room)
	}
}

// run is the heartbeat and sweeper goroutine.
func (p *Presence) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(p.opts.NodeTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.heartbeat(ctx)
			p.sweep(ctx)
		}
	}
}

// warn logs a failure of the background goroutine, unless Close caused it.
func (p *Presence) warn(ctx context.Context, msg string, args ...any) {
	if ctx.Err() == nil {
		p.log.Warn(msg, args...)
	}
}

// beat refreshes this node's key and reports whether it had expired.
func (p *Presence) beat(ctx context.Context) (expired bool, err error) {
	err = p.client.SetArgs(ctx, p.nodeKey(p.node), "1", goredis.SetArgs{TTL: p.opts.NodeTTL, Get: true}).Err()
	if errors.Is(err, goredis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("redis presence: heartbeat: %w", err)
	}
	return false, nil
}

// heartbeat refreshes this node's key; when it had expired, the other nodes may have
// purged this node's sockets, so they are added again.
func (p *Presence) heartbeat(ctx context.Context) {
	expired, err := p.beat(ctx)
	if err != nil {
		p.warn(ctx, "presence heartbeat failed", "err", err)
		return
	}
	if !expired {
		return
	}
	p.warn(ctx, "presence node key had expired; adding this node's sockets again", "node", p.node)
	if err := p.client.SAdd(ctx, p.nodesKey(), p.node).Err(); err != nil {
		p.warn(ctx, "presence re-register failed", "err", err)
	}
	for room, sockets := range p.snapshot() {
		for sid, user := range sockets {
			first, err := p.add(ctx, room, user, sid)
			if err != nil {
				p.warn(ctx, "presence re-add failed", "err", err)
				return
			}
			if first {
				p.notify(&p.back, room, user)
			}
		}
	}
}

// snapshot copies the local mirror.
func (p *Presence) snapshot() map[chat.RoomRef]map[string]chat.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[chat.RoomRef]map[string]chat.User, len(p.local))
	for room, sockets := range p.local {
		out[room] = make(map[string]chat.User, len(sockets))
		for sid, user := range sockets {
			out[room][sid] = user
		}
	}
	return out
}

// sweep purges the sockets of every node whose key has expired.
func (p *Presence) sweep(ctx context.Context) {
	nodes, err := p.client.SMembers(ctx, p.nodesKey()).Result()
	if err != nil {
		p.warn(ctx, "presence sweep failed", "err", err)
		return
	}
	for _, node := range nodes {
		if node == p.node {
			continue
		}
		alive, err := p.client.Exists(ctx, p.nodeKey(node)).Result()
		if err != nil {
			p.warn(ctx, "presence sweep failed", "err", err)
			return
		}
		if alive == 0 {
			if err := p.purge(ctx, node); err != nil {
				p.warn(ctx, "presence purge failed", "node", node, "err", err)
			}
		}
	}
}

// purge removes every socket of a dead node, reports the users gone, then forgets the node.
func (p *Presence) purge(ctx context.Context, node string) error {
	rooms, err := p.client.SMembers(ctx, p.nodeRoomsKey(node)).Result()
	if err != nil {
		return fmt.Errorf("rooms of node: %w", err)
	}
	for _, id := range rooms {
		room, ok := parseRoomID(id)
		if !ok {
			continue
		}
		gone, err := purgeScript.Run(ctx, p.client, p.presenceKeys(room), node).StringSlice()
		if err != nil {
			return fmt.Errorf("purge %v: %w", room, err)
		}
		for i := 0; i+1 < len(gone); i += 2 {
			p.report(room, chat.User{UserID: gone[i], UserName: gone[i+1]})
		}
	}
	if err := p.client.Del(ctx, p.nodeRoomsKey(node)).Err(); err != nil {
		return fmt.Errorf("forget node rooms: %w", err)
	}
	if err := p.client.SRem(ctx, p.nodesKey(), node).Err(); err != nil {
		return fmt.Errorf("forget node: %w", err)
	}
	p.log.Info("purged the presence of a dead node", "node", node, "rooms", len(rooms))
	return nil
}

// report tells the OnUserGone callbacks that user left room.
func (p *Presence) report(room chat.RoomRef, user chat.User) { p.notify(&p.gone, room, user) }

// notify calls a copy of the callbacks in *list (read under the lock) with room and user.
func (p *Presence) notify(list *[]func(chat.RoomRef, chat.User), room chat.RoomRef, user chat.User) {
	p.mu.Lock()
	callbacks := append([]func(chat.RoomRef, chat.User){}, *list...)
	p.mu.Unlock()
	for _, fn := range callbacks {
		fn(room, user)
	}
}
