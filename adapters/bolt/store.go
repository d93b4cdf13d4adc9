// Package bolt is the embedded, durable chat.Store: one bbolt file, every Append and
// MarkRead on disk (fsynced) before it returns. Concurrent writes share transactions and
// fsyncs through a single writer goroutine (group commit); reads run in parallel.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/iohub/iohub/server/chat"
)

// FileName is the database file that Open creates in its directory.
const FileName = "iohub.db"

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// MaxBatch caps how many writes share one transaction and fsync. Default 256.
	MaxBatch int
	// LockTimeout is how long Open waits for another process to release the database
	// file before it fails. Default 1s.
	LockTimeout time.Duration
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	return o
}

// Store is a chat.Store in a bbolt database. Message IDs are chat.FormatID of the
// message's position in its room (1, 2, 3, ...).
type Store struct {
	db       *bbolt.DB
	writer   *writer
	once     sync.Once
	closeErr error
}

var _ chat.Store = (*Store)(nil)

// Open opens (creating when needed) the directory dir and the database FileName in it.
// One Store at a time, in any process, can have the file open: Open waits up to
// opts.LockTimeout for another to close it, then fails.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:        opts.LockTimeout,
		NoFreelistSync: true, // cheaper commits; the freelist is rebuilt on open
		FreelistType:   bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		return nil, fmt.Errorf("initialise %s: %w", path, errors.Join(err, db.Close()))
	}
	return &Store{db: db, writer: newWriter(db, opts.MaxBatch)}, nil
}

// Append implements chat.Store. It returns once the message is on disk.
func (s *Store) Append(ctx context.Context, ref chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	var (
		stored chat.Message
		dup    bool
	)
	err := s.writer.do(ctx, func(tx *bbolt.Tx) (err error) {
		stored, dup, err = appendTx(tx, ref, msg)
		return err
	})
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("append to room %q: %w", ref.Room, err)
	}
	return stored, dup, nil
}

// appendTx is Append within the writer's transaction.
func appendTx(tx *bbolt.Tx, ref chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	r := openRoom(tx, ref)
	if msg.ClientMessageID != nil {
		if seq := r.duplicateOf(msg.UserID, *msg.ClientMessageID); seq != 0 {
			orig, err := r.message(seq)
			return orig, true, err
		}
	}
	if msg.ReplyTo != nil {
		if _, ok := r.find(*msg.ReplyTo); !ok {
			return chat.Message{}, false, refusal{fmt.Errorf("reply to message %q: %w", *msg.ReplyTo, chat.ErrNotFound)}
		}
	}
	seq := r.last() + 1
	msg.ID, msg.Timestamp = chat.FormatID(ref, seq), chat.FormatTimestamp(time.Now())
	return msg, false, r.put(seq, msg)
}

// History implements chat.Store. before is compared byte-wise, so any string works.
func (s *Store) History(_ context.Context, ref chat.RoomRef, before string, limit int) (msgs []chat.Message, hasMore bool, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		msgs, hasMore, err = historyTx(tx, ref, before, limit)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("history of room %q: %w", ref.Room, err)
	}
	return msgs, hasMore, nil
}

// historyTx is History within a read transaction: it walks the room's messages backwards
// from the newest one older than before.
func historyTx(tx *bbolt.Tx, ref chat.RoomRef, before string, limit int) ([]chat.Message, bool, error) {
	bound := uint64(math.MaxUint64)
	if before != "" {
		bound = chat.IDBound(ref, before)
	}
	r, page := openRoom(tx, ref), []chat.Message{}
	c := r.msgs.Cursor()
	k, v := r.seekBefore(c, bound)
	for ; r.seqAt(k) != 0 && len(page) < limit; k, v = c.Prev() {
		msg, err := decode(v)
		if err != nil {
			return nil, false, err
		}
		page = append(page, msg)
	}
	slices.Reverse(page)
	return page, r.seqAt(k) != 0, nil
}

// MarkRead implements chat.Store. It returns once the cursor is on disk.
func (s *Store) MarkRead(ctx context.Context, ref chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	// Locals, not named results: after ctx ends the writer may still set them.
	var (
		cursor string
		unread int
		moved  bool
	)
	err := s.writer.do(ctx, func(tx *bbolt.Tx) (err error) {
		cursor, unread, moved, err = markReadTx(tx, ref, userID, messageID)
		return err
	})
	if err != nil {
		return "", 0, false, fmt.Errorf("mark read in room %q: %w", ref.Room, err)
	}
	return cursor, unread, moved, nil
}

// markReadTx is MarkRead within the writer's transaction.
func markReadTx(tx *bbolt.Tx, ref chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	r := openRoom(tx, ref)
	seq, ok := r.find(messageID)
	if !ok {
		return "", 0, false, refusal{fmt.Errorf("message %q: %w", messageID, chat.ErrNotFound)}
	}
	cur := r.cursor(userID)
	if seq <= cur {
		cursor, unread := r.readState(cur)
		return cursor, unread, false, nil
	}
	if err := r.setCursor(userID, seq); err != nil {
		return "", 0, false, err
	}
	cursor, unread := r.readState(seq)
	return cursor, unread, true, nil
}

// ReadState implements chat.Store.
func (s *Store) ReadState(_ context.Context, ref chat.RoomRef, userID string) (cursor string, unread int, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		r := openRoom(tx, ref)
		cursor, unread = r.readState(r.cursor(userID))
		return nil
	})
	if err != nil {
		return "", 0, fmt.Errorf("read state in room %q: %w", ref.Room, err)
	}
	return cursor, unread, nil
}

// Ping implements chat.Store: it fails once the store is closed.
func (s *Store) Ping(context.Context) error {
	if err := s.db.View(func(*bbolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("ping bolt store: %w", err)
	}
	return nil
}

// Close implements chat.Store: it waits for the batch being written, stops the writer
// and closes the database. Writes submitted afterwards fail with ErrClosed. Closing
// again returns the first result.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.writer.stop()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("close bolt store: %w", err)
		}
	})
	return s.closeErr
}
