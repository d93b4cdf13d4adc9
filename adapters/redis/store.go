package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/iohub/iohub/server/chat"
)

// StoreOptions configures NewStore. Every field has a usable zero value.
type StoreOptions struct {
	// KeyPrefix starts every key (config key redis.key_prefix; default "iohub").
	KeyPrefix string
	// DedupTTL is how long a client messageId is remembered for retry de-duplication
	// (default 24h).
	DedupTTL time.Duration
}

// Store is a chat.Store in Redis, shared by every node. Per room (keys share one hash
// tag, so they also live together on a Redis Cluster):
//
//	<prefix>:{<room>}:seq       INCR counter: the room's last sequence number
//	<prefix>:{<room>}:msgs      sorted set: score = sequence, member = 20-digit sequence + message JSON
//	<prefix>:{<room>}:cursors   hash: user ID -> sequence of the user's read cursor
//	<prefix>:{<room>}:dedup:<user>:<messageId>   sequence of a retried message, with TTL
//
// where <room> is "<len(namespace)>:<namespace>:<room>". Message IDs are
// chat.FormatID(room, sequence). Append, MarkRead and ReadState are Lua scripts, so each is
// atomic across nodes. Append is durable as far as the Redis server's persistence
// settings make it.
type Store struct {
	client goredis.UniversalClient
	opts   StoreOptions
}

var _ chat.Store = (*Store)(nil)

// NewStore returns a Store on client. The Store does not own the client: Close leaves it
// open for its owner to close.
func NewStore(client goredis.UniversalClient, opts StoreOptions) *Store {
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "iohub"
	}
	if opts.DedupTTL <= 0 {
		opts.DedupTTL = 24 * time.Hour
	}
	return &Store{client: client, opts: opts}
}

// roomKeys names the keys of one room.
type roomKeys struct{ base string }

// keys returns the key names of room.
func (s *Store) keys(room chat.RoomRef) roomKeys {
	return roomKeys{base: s.opts.KeyPrefix + ":{" + roomID(room) + "}:"}
}

func (k roomKeys) seq() string     { return k.base + "seq" }
func (k roomKeys) msgs() string    { return k.base + "msgs" }
func (k roomKeys) cursors() string { return k.base + "cursors" }
func (k roomKeys) dedup(user, clientID string) string {
	return k.base + "dedup:" + strconv.Itoa(len(user)) + ":" + user + ":" + clientID
}

// appendScript stores a message unless it is a retry.
// KEYS: seq, msgs, cursors, dedup. ARGV: member JSON, author, replyTo sequence or "",
// dedup TTL seconds, "1" to de-duplicate.
// Returns {0, member} for a retry, {-1} for an unknown replyTo, {1, sequence} when stored.
var appendScript = goredis.NewScript(`
if ARGV[5] == '1' then
  local prev = redis.call('GET', KEYS[4])
  if prev then
    local m = redis.call('ZRANGE', KEYS[2], prev, prev, 'BYSCORE')
    if m[1] then return {0, m[1]} end
  end
end
if ARGV[3] ~= '' and redis.call('ZCOUNT', KEYS[2], ARGV[3], ARGV[3]) == 0 then
  return {-1}
end
local seq = redis.call('INCR', KEYS[1])
local digits = string.format('%020d', seq)
redis.call('ZADD', KEYS[2], seq, digits .. ARGV[1])
redis.call('HSET', KEYS[3], ARGV[2], seq)
if ARGV[5] == '1' then
  redis.call('SET', KEYS[4], seq, 'EX', ARGV[4])
end
return {1, seq}
`)

// Append implements chat.Store.
func (s *Store) Append(ctx context.Context, room chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	msg.ID = ""
	msg.RoomID = room.Room
	msg.Timestamp = chat.FormatTimestamp(time.Now())
	body, err := json.Marshal(msg)
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("redis store: encode message: %w", err)
	}
	replyTo := ""
	if msg.ReplyTo != nil {
		seq, ok := chat.ParseID(room, *msg.ReplyTo)
		if !ok || seq == 0 {
			return chat.Message{}, false, fmt.Errorf("redis store: replyTo %q: %w", *msg.ReplyTo, chat.ErrNotFound)
		}
		replyTo = strconv.FormatUint(seq, 10)
	}
	k := s.keys(room)
	dedup, clientID := "0", ""
	if msg.ClientMessageID != nil {
		dedup, clientID = "1", *msg.ClientMessageID
	}
	res, err := appendScript.Run(ctx, s.client,
		[]string{k.seq(), k.msgs(), k.cursors(), k.dedup(msg.UserID, clientID)},
		body, msg.UserID, replyTo, int64(s.opts.DedupTTL/time.Second), dedup).Slice()
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("redis store: append: %w", err)
	}
	return appendResult(room, res, msg)
}

// appendResult turns appendScript's reply into Append's results.
func appendResult(room chat.RoomRef, res []any, msg chat.Message) (chat.Message, bool, error) {
	status, _ := res[0].(int64)
	switch {
	case status == -1:
		return chat.Message{}, false, fmt.Errorf("redis store: replyTo %q: %w", *msg.ReplyTo, chat.ErrNotFound)
	case status == 0 && len(res) == 2:
		member, _ := res[1].(string)
		orig, err := decodeMember(room, member)
		return orig, true, err
	case status == 1 && len(res) == 2:
		seq, _ := res[1].(int64)
		msg.ID = chat.FormatID(room, uint64(seq))
		return msg, false, nil
	}
	return chat.Message{}, false, fmt.Errorf("redis store: append: unexpected reply %v", res)
}

// seqDigits is the width of the sequence number that starts every msgs member.
const seqDigits = 20

// decodeMember parses a msgs member of room: the sequence, then the message JSON.
func decodeMember(room chat.RoomRef, member string) (chat.Message, error) {
	if len(member) < seqDigits {
		return chat.Message{}, fmt.Errorf("redis store: corrupt message %q", member)
	}
	seq, err := strconv.ParseUint(member[:seqDigits], 10, 64)
	if err != nil {
		return chat.Message{}, fmt.Errorf("redis store: corrupt message: %w", err)
	}
	var m chat.Message
	if err := json.Unmarshal([]byte(member[seqDigits:]), &m); err != nil {
		return chat.Message{}, fmt.Errorf("redis store: corrupt message: %w", err)
	}
	m.ID = chat.FormatID(room, seq)
	return m, nil
}

// cursorID turns a cursor sequence from a script into a message ID ("" for none).
func cursorID(room chat.RoomRef, seq any) string {
	n, ok := seq.(int64)
	if !ok || n <= 0 {
		return ""
	}
	return chat.FormatID(room, uint64(n))
}

// FindSent implements chat.Store: the retry's de-duplication key, then the message it names.
func (s *Store) FindSent(ctx context.Context, room chat.RoomRef, userID, clientMessageID string) (chat.Message, bool, error) {
	k := s.keys(room)
	seq, err := s.client.Get(ctx, k.dedup(userID, clientMessageID)).Result()
	if errors.Is(err, goredis.Nil) {
		return chat.Message{}, false, nil
	}
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("redis store: find sent: %w", err)
	}
	members, err := s.client.ZRangeByScore(ctx, k.msgs(), &goredis.ZRangeBy{Min: seq, Max: seq}).Result()
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("redis store: find sent: %w", err)
	}
	if len(members) == 0 {
		return chat.Message{}, false, nil
	}
	msg, err := decodeMember(room, members[0])
	return msg, err == nil, err
}

// History implements chat.Store.
func (s *Store) History(ctx context.Context, room chat.RoomRef, before string, limit int) ([]chat.Message, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	upper := "+inf"
	if before != "" {
		upper = "(" + strconv.FormatUint(chat.IDBound(room, before), 10)
	}
	members, err := s.client.ZRevRangeByScore(ctx, s.keys(room).msgs(), &goredis.ZRangeBy{
		Max: upper, Min: "-inf", Count: int64(limit) + 1,
	}).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis store: history: %w", err)
	}
	hasMore := len(members) > limit
	members = members[:min(limit, len(members))]
	msgs := make([]chat.Message, len(members))
	for i, member := range members {
		if msgs[i], err = decodeMember(room, member); err != nil {
			return nil, false, err
		}
	}
	slices.Reverse(msgs)
	return msgs, hasMore, nil
}

// markReadScript moves a read cursor forward.
// KEYS: msgs, cursors. ARGV: user, sequence.
// Returns {-1} for an unknown message, else {moved (0/1), cursor sequence, unread}.
var markReadScript = goredis.NewScript(`
if redis.call('ZCOUNT', KEYS[1], ARGV[2], ARGV[2]) == 0 then return {-1} end
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local moved = 0
if cur < tonumber(ARGV[2]) then
  cur = tonumber(ARGV[2])
  redis.call('HSET', KEYS[2], ARGV[1], cur)
  moved = 1
end
return {moved, cur, redis.call('ZCOUNT', KEYS[1], '(' .. cur, '+inf')}
`)

// MarkRead implements chat.Store.
func (s *Store) MarkRead(ctx context.Context, room chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	seq, ok := chat.ParseID(room, messageID)
	if !ok {
		return "", 0, false, fmt.Errorf("redis store: message %q: %w", messageID, chat.ErrNotFound)
	}
	k := s.keys(room)
	res, err := markReadScript.Run(ctx, s.client, []string{k.msgs(), k.cursors()},
		userID, strconv.FormatUint(seq, 10)).Slice()
	if err != nil {
		return "", 0, false, fmt.Errorf("redis store: mark read: %w", err)
	}
	if status, _ := res[0].(int64); status == -1 || len(res) != 3 {
		return "", 0, false, fmt.Errorf("redis store: message %q: %w", messageID, chat.ErrNotFound)
	}
	moved, _ := res[0].(int64)
	unread, _ := res[2].(int64)
	return cursorID(room, res[1]), int(unread), moved == 1, nil
}

// readStateScript reads a cursor and the count of messages after it.
// KEYS: msgs, cursors. ARGV: user. Returns {cursor sequence (0: none), unread}.
var readStateScript = goredis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
return {cur, redis.call('ZCOUNT', KEYS[1], '(' .. cur, '+inf')}
`)

// ReadState implements chat.Store.
func (s *Store) ReadState(ctx context.Context, room chat.RoomRef, userID string) (string, int, error) {
	k := s.keys(room)
	res, err := readStateScript.Run(ctx, s.client, []string{k.msgs(), k.cursors()}, userID).Slice()
	if err != nil {
		return "", 0, fmt.Errorf("redis store: read state: %w", err)
	}
	if len(res) != 2 {
		return "", 0, errors.New("redis store: read state: unexpected reply")
	}
	unread, _ := res[1].(int64)
	return cursorID(room, res[0]), int(unread), nil
}

// Ping implements chat.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis store: %w", err)
	}
	return nil
}

// Close implements chat.Store. Every write is already in Redis; the client stays open.
func (s *Store) Close() error { return nil }
