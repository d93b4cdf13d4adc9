// Package memory keeps chat history and presence in process memory: for tests, development
// and single-node deployments that accept losing history on restart.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/iohub/iohub/server/chat"
)

// Store is a chat.Store held in memory behind one lock. Message IDs are chat.FormatID of
// the message's position in its room (1, 2, 3, ...). Nothing survives the process.
type Store struct {
	mu    sync.RWMutex
	rooms map[chat.RoomRef]*room
}

var _ chat.Store = (*Store)(nil)

// room is the state of one room. Message i (0-based) has sequence number i+1.
type room struct {
	ref     chat.RoomRef
	msgs    []chat.Message
	dedup   map[dedupKey]uint64 // (author, client message id) -> sequence
	cursors map[string]uint64   // user id -> sequence read up to, inclusive
}

// dedupKey identifies a retried send within a room.
type dedupKey struct {
	author, clientMessageID string
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{rooms: make(map[chat.RoomRef]*room)}
}

// Append implements chat.Store.
func (s *Store) Append(_ context.Context, ref chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[ref]
	if r != nil && msg.ClientMessageID != nil {
		if seq, ok := r.dedup[dedupKey{msg.UserID, *msg.ClientMessageID}]; ok {
			return r.message(seq), true, nil
		}
	}
	if msg.ReplyTo != nil && !r.has(*msg.ReplyTo) {
		return chat.Message{}, false, fmt.Errorf("reply to message %q of room %q: %w", *msg.ReplyTo, ref.Room, chat.ErrNotFound)
	}
	if r == nil {
		r = &room{ref: ref, dedup: make(map[dedupKey]uint64), cursors: make(map[string]uint64)}
		s.rooms[ref] = r
	}
	seq := uint64(len(r.msgs)) + 1
	msg = clone(msg)
	msg.ID, msg.Timestamp = chat.FormatID(ref, seq), chat.FormatTimestamp(time.Now())
	r.msgs = append(r.msgs, msg)
	if msg.ClientMessageID != nil {
		r.dedup[dedupKey{msg.UserID, *msg.ClientMessageID}] = seq
	}
	r.cursors[msg.UserID] = seq
	return clone(msg), false, nil
}

// FindSent implements chat.Store.
func (s *Store) FindSent(_ context.Context, ref chat.RoomRef, userID, clientMessageID string) (chat.Message, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.rooms[ref]
	if r == nil {
		return chat.Message{}, false, nil
	}
	seq, ok := r.dedup[dedupKey{userID, clientMessageID}]
	if !ok {
		return chat.Message{}, false, nil
	}
	return r.message(seq), true, nil
}

// History implements chat.Store. before is compared byte-wise, so any string works.
func (s *Store) History(_ context.Context, ref chat.RoomRef, before string, limit int) ([]chat.Message, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.rooms[ref]
	if r == nil {
		return []chat.Message{}, false, nil
	}
	end := len(r.msgs) // messages [0, end) are older than before
	if before != "" {
		// Sequences below the bound sort before `before`; message i has sequence i+1.
		end = int(min(uint64(end), max(chat.IDBound(ref, before), 1)-1))
	}
	start := max(end-max(limit, 0), 0)
	page := make([]chat.Message, end-start)
	for i := range page {
		page[i] = clone(r.msgs[start+i])
	}
	return page, start > 0, nil
}

// MarkRead implements chat.Store.
func (s *Store) MarkRead(_ context.Context, ref chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[ref]
	if !r.has(messageID) {
		return "", 0, false, fmt.Errorf("mark read up to message %q of room %q: %w", messageID, ref.Room, chat.ErrNotFound)
	}
	seq, _ := chat.ParseID(ref, messageID)
	moved := seq > r.cursors[userID]
	if moved {
		r.cursors[userID] = seq
	}
	cursor, unread := r.readState(userID)
	return cursor, unread, moved, nil
}

// ReadState implements chat.Store.
func (s *Store) ReadState(_ context.Context, ref chat.RoomRef, userID string) (string, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cursor, unread := s.rooms[ref].readState(userID)
	return cursor, unread, nil
}

// Ping implements chat.Store; memory is always usable.
func (s *Store) Ping(context.Context) error { return nil }

// Close implements chat.Store. There is nothing to flush or release, so the Store stays
// usable.
func (s *Store) Close() error { return nil }

// has reports whether id names a message of the room; a nil room has none.
func (r *room) has(id string) bool {
	if r == nil {
		return false
	}
	seq, ok := chat.ParseID(r.ref, id)
	return ok && seq >= 1 && seq <= uint64(len(r.msgs))
}

// message returns a copy of the message with sequence number seq, which must exist.
func (r *room) message(seq uint64) chat.Message {
	return clone(r.msgs[seq-1])
}

// readState is userID's cursor and unread count; a nil room has neither.
func (r *room) readState(userID string) (string, int) {
	if r == nil {
		return "", 0
	}
	seq := r.cursors[userID]
	unread := len(r.msgs) - int(seq)
	if seq == 0 {
		return "", unread
	}
	return chat.FormatID(r.ref, seq), unread
}

// clone copies msg so that neither the caller nor the Store can change the other's copy
// through the pointer fields.
func clone(msg chat.Message) chat.Message {
	if msg.ReplyTo != nil {
		msg.ReplyTo = new(*msg.ReplyTo)
	}
	if msg.ClientMessageID != nil {
		msg.ClientMessageID = new(*msg.ClientMessageID)
	}
	return msg
}
