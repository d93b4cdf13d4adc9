// Package bolt is the embedded, durable chat.Store: a bbolt file and a write-ahead log,
// every Append and MarkRead on disk (in the log, fdatasync'ed) before it returns.
// Concurrent writes share log records and syncs through a single writer goroutine (group
// commit), which moves them into the bbolt file in large checkpoints; reads run in
// parallel.
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

// walSlack is how far beyond Options.CheckpointBytes the log is preallocated: room for
// the batch that crosses it.
const walSlack = 1 << 20

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// MaxBatch caps how many writes share one log record and sync. Default 256.
	MaxBatch int
	// CheckpointBytes is the size of a log file at which the writer switches to the
	// other file and moves the writes of the full one into the bbolt file, in the
	// background. Until then they are also kept in memory. Each log file is
	// preallocated to CheckpointBytes + 1 MiB. Default 4 MiB.
	CheckpointBytes int64
	// LockTimeout is how long Open waits for another process to release the database
	// file before it fails. Default 1s.
	LockTimeout time.Duration
}

// withDefaults fills in the zero fields.
func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = 4 << 20
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

var (
	_ chat.Store         = (*Store)(nil)
	_ chat.AsyncAppender = (*Store)(nil)
)

// Open opens (creating when needed) the directory dir, the database FileName and the log
// files WALFileNames in it, and moves what the log holds (after a crash) into the database.
// One Store at a time, in any process, can have the files open: Open waits up to
// opts.LockTimeout for another to close them, then fails.
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
		// Address space for the file to grow into: each remap as it grows copies every
		// node the commit holds and stops readers and the writer's reads meanwhile.
		InitialMmapSize: 1 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		return nil, fmt.Errorf("initialise %s: %w", path, errors.Join(err, db.Close()))
	}
	// The bbolt file lock is held: no other Store has the log open.
	mem := newOverlay()
	log, err := openWAL(dir, opts.CheckpointBytes+walSlack, mem)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if !mem.empty() { // before the log is written again
		if err := db.Update(mem.apply); err != nil {
			return nil, fmt.Errorf("apply the log to %s: %w", path, errors.Join(err, log.close(), db.Close()))
		}
	}
	return &Store{db: db, writer: newWriter(db, log, opts)}, nil
}

// Append implements chat.Store. It returns once the message is on disk.
func (s *Store) Append(ctx context.Context, ref chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	var (
		stored chat.Message
		dup    bool
	)
	err := s.writer.do(ctx, func(v *view) (err error) {
		stored, dup, err = appendTx(v, ref, msg)
		return err
	})
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("append to room %q: %w", ref.Room, err)
	}
	return stored, dup, nil
}

// AppendAsync implements chat.AsyncAppender: it queues the append for the writer's next
// batch and returns; done runs on the writer's answering goroutine once the batch is on
// disk (or failed), after the done of every write submitted earlier.
func (s *Store) AppendAsync(_ context.Context, ref chat.RoomRef, msg chat.Message, done func(chat.Message, bool, error)) {
	a := &asyncAppend{ref: ref, msg: msg, answer: done}
	a.req = request{apply: a.apply, done: a.done}
	s.writer.submit(&a.req)
}

// asyncAppend is one AppendAsync on its way through the writer: its request, and the
// results apply leaves for done, in one allocation (with the request's two method values)
// where closures over them made five.
type asyncAppend struct {
	req    request
	ref    chat.RoomRef
	msg    chat.Message
	stored chat.Message
	dup    bool
	answer func(chat.Message, bool, error)
}

// apply is the request's txFunc.
func (a *asyncAppend) apply(v *view) (err error) {
	a.stored, a.dup, err = appendTx(v, a.ref, a.msg)
	return err
}

// done is the request's done: it answers the caller.
func (a *asyncAppend) done(err error) {
	if err != nil {
		a.answer(chat.Message{}, false, fmt.Errorf("append to room %q: %w", a.ref.Room, err))
		return
	}
	a.answer(a.stored, a.dup, nil)
}

// appendTx is Append within the writer's view.
func appendTx(v *view, ref chat.RoomRef, msg chat.Message) (chat.Message, bool, error) {
	r := v.room(ref)
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
	msg.ID, msg.Timestamp = chat.FormatID(ref, seq), v.timestamp()
	return msg, false, r.put(seq, msg)
}

// FindSent implements chat.Store. A message still on its way to the log is not found yet.
func (s *Store) FindSent(_ context.Context, ref chat.RoomRef, userID, clientMessageID string) (msg chat.Message, found bool, err error) {
	err = s.writer.read(func(v *view) error {
		r := v.room(ref)
		seq := r.duplicateOf(userID, clientMessageID)
		if seq == 0 {
			return nil
		}
		msg, err = r.message(seq)
		found = err == nil
		return err
	})
	if err != nil {
		return chat.Message{}, false, fmt.Errorf("find sent message in room %q: %w", ref.Room, err)
	}
	return msg, found, nil
}

// History implements chat.Store. before is compared byte-wise, so any string works.
func (s *Store) History(_ context.Context, ref chat.RoomRef, before string, limit int) (msgs []chat.Message, hasMore bool, err error) {
	err = s.writer.read(func(v *view) error {
		msgs, hasMore, err = historyTx(v, ref, before, limit)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("history of room %q: %w", ref.Room, err)
	}
	return msgs, hasMore, nil
}

// historyTx is History within a view: it walks the room's messages backwards from the
// newest one older than before, first those in the overlay, then those in the file.
func historyTx(v *view, ref chat.RoomRef, before string, limit int) ([]chat.Message, bool, error) {
	bound := uint64(math.MaxUint64)
	if before != "" {
		bound = chat.IDBound(ref, before)
	}
	r, page := v.room(ref), []chat.Message{}
	if bound == 0 {
		return page, false, nil
	}
	seq := min(r.last(), bound-1) // the next message to add to the page, 0 for none
	for ; seq > 0 && len(page) < limit; seq-- {
		val := r.pending(seq)
		if val == nil {
			break
		}
		msg, err := decode(val)
		if err != nil {
			return nil, false, err
		}
		page = append(page, msg)
	}
	c := r.msgs.Cursor()
	k, val := r.seekBefore(c, seq+1)
	for ; r.seqAt(k) != 0 && len(page) < limit; k, val = c.Prev() {
		msg, err := decode(val)
		if err != nil {
			return nil, false, err
		}
		page = append(page, msg)
	}
	slices.Reverse(page)
	return page, r.seqAt(k) != 0 || r.pending(seq) != nil, nil
}

// MarkRead implements chat.Store. It returns once the cursor is on disk.
func (s *Store) MarkRead(ctx context.Context, ref chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	// Locals, not named results: after ctx ends the writer may still set them.
	var (
		cursor string
		unread int
		moved  bool
	)
	err := s.writer.do(ctx, func(v *view) (err error) {
		cursor, unread, moved, err = markReadTx(v, ref, userID, messageID)
		return err
	})
	if err != nil {
		return "", 0, false, fmt.Errorf("mark read in room %q: %w", ref.Room, err)
	}
	return cursor, unread, moved, nil
}

// markReadTx is MarkRead within the writer's view.
func markReadTx(v *view, ref chat.RoomRef, userID, messageID string) (string, int, bool, error) {
	r := v.room(ref)
	seq, ok := r.find(messageID)
	if !ok {
		return "", 0, false, refusal{fmt.Errorf("message %q: %w", messageID, chat.ErrNotFound)}
	}
	cur := r.cursor(userID)
	if seq <= cur {
		cursor, unread := r.readState(cur)
		return cursor, unread, false, nil
	}
	r.setCursor(userID, seq)
	cursor, unread := r.readState(seq)
	return cursor, unread, true, nil
}

// ReadState implements chat.Store.
func (s *Store) ReadState(_ context.Context, ref chat.RoomRef, userID string) (cursor string, unread int, err error) {
	err = s.writer.read(func(v *view) error {
		r := v.room(ref)
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

// Close implements chat.Store: it waits for the batch being written, stops the writer,
// moves the log into the database and closes both. Writes submitted afterwards fail with
// ErrClosed. Closing again returns the first result.
func (s *Store) Close() error {
	s.once.Do(func() {
		if err := errors.Join(s.writer.stop(), s.db.Close()); err != nil {
			s.closeErr = fmt.Errorf("close bolt store: %w", err)
		}
	})
	return s.closeErr
}
