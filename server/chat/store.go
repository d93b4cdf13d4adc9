package chat

import (
	"context"
	"errors"
)

// Message is a stored chat message, exactly as clients receive it.
//
// The struct carries msgpack tags as well as json tags because cluster traffic is
// msgpack-encoded and msgpack ignores json tags.
type Message struct {
	// ID sorts (byte-wise) in the order the room received its messages. It names a message
	// of one room only: stores build it with FormatID, which tags it with the room.
	ID       string `json:"id" msgpack:"id"`
	RoomID   string `json:"roomId" msgpack:"roomId"`
	UserID   string `json:"userId" msgpack:"userId"`
	UserName string `json:"userName" msgpack:"userName"`
	Content  string `json:"content" msgpack:"content"`
	// ReplyTo is the id of a message of the same room, or nil.
	ReplyTo *string `json:"replyTo" msgpack:"replyTo"`
	// ClientMessageID is the sender's messageId (retry key), or nil.
	ClientMessageID *string `json:"clientMessageId" msgpack:"clientMessageId"`
	// Timestamp is RFC 3339 UTC with milliseconds, e.g. 2026-11-24T05:01:02.123Z.
	Timestamp string `json:"timestamp" msgpack:"timestamp"`
}

// TimestampLayout formats Message.Timestamp (always in UTC).
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// RoomRef names a room inside a namespace: room "general" in "/" is not room "general" in "/chat".
type RoomRef struct {
	Namespace string
	Room      string
}

// ErrNotFound is returned by stores for an unknown message id.
var ErrNotFound = errors.New("not found")

// Store keeps message history, read cursors and retry de-duplication.
//
// Every implementation is safe for concurrent use. Append is durable when it returns
// (the embedded store has the message on disk before it returns nil). All methods take
// a RoomRef so namespaces never share data.
type Store interface {
	// Append assigns msg an ID (greater than every earlier ID of the room) and a
	// Timestamp, stores it, and moves the author's read cursor to it. When
	// msg.ClientMessageID is set and the same author already stored a message with that
	// ClientMessageID in the room, nothing is written and the original message is
	// returned with duplicate == true. msg.ReplyTo, when set, must name a message of the
	// room, else the error wraps ErrNotFound and nothing is written.
	Append(ctx context.Context, room RoomRef, msg Message) (stored Message, duplicate bool, err error)

	// FindSent returns the message userID stored in the room with clientMessageID: the one
	// a retry of it gets back from Append. found is false when there is none (or the store
	// no longer remembers it for de-duplication).
	FindSent(ctx context.Context, room RoomRef, userID, clientMessageID string) (msg Message, found bool, err error)

	// History returns up to limit messages of the room, oldest first, strictly older than
	// before (a message ID; "" means from the newest), and whether older ones exist.
	History(ctx context.Context, room RoomRef, before string, limit int) (msgs []Message, hasMore bool, err error)

	// MarkRead moves userID's read cursor in the room forward to messageID (inclusive).
	// An older messageID changes nothing (moved == false). An ID that is not a message
	// of the room returns an error wrapping ErrNotFound. It returns the cursor after the
	// call and the number of messages after it.
	MarkRead(ctx context.Context, room RoomRef, userID, messageID string) (cursor string, unread int, moved bool, err error)

	// ReadState returns userID's cursor in the room ("" before the first read) and the
	// number of messages after it (all of them before the first read).
	ReadState(ctx context.Context, room RoomRef, userID string) (cursor string, unread int, err error)

	// Ping reports whether the store is usable (for /readyz).
	Ping(ctx context.Context) error

	// Close flushes and releases the store.
	Close() error
}

// AsyncAppender is a Store that takes an Append without its caller waiting for the write,
// so that a socket's consecutive messages can share one commit (one fsync of the embedded
// store) instead of waiting for one each.
type AsyncAppender interface {
	// AppendAsync does what Append does and calls done once with Append's results, when
	// the message is as durable as Append makes it. done runs on a goroutine of the
	// store's, after the done of every AppendAsync call that returned before this one was
	// made; it must not block for long.
	AppendAsync(ctx context.Context, room RoomRef, msg Message, done func(stored Message, duplicate bool, err error))
}
