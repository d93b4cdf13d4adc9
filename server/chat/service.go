package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Broadcaster delivers server events to the sockets in a room, on every node.
type Broadcaster interface {
	// Emit sends event with payload to every socket in room except the socket whose id is
	// opts.ExceptSocket (when set). Volatile events may be dropped under pressure.
	Emit(room RoomRef, event string, payload any, opts EmitOptions)
}

// EmitOptions modify one Broadcaster.Emit.
type EmitOptions struct {
	ExceptSocket string
	Volatile     bool
}

// Conn is the Socket.IO socket a Session speaks for.
type Conn interface {
	// ID is the socket id; the socket is always in the room of that name.
	ID() string
	// Join and Leave change the socket's Socket.IO room membership (local to its node).
	Join(room string)
	Leave(room string)
}

// Principal is the authenticated user behind a socket.
type Principal struct {
	User
	// CanJoin reports whether the user may join (and read) a room.
	CanJoin func(room string) bool
}

// Options are the Service's limits; see config for the keys and defaults.
type Options struct {
	MaxMessageLength    int
	MessagesPerSecond   float64
	MessageBurst        int
	MaxRoomsPerSocket   int
	DefaultHistoryLimit int
	RoomUsersInterval   time.Duration
	MaxListedUsers      int
	// TypingEvery and TypingBurst throttle typing:true per socket (defaults 300ms and 3).
	TypingEvery time.Duration
	TypingBurst int
	Logger      *slog.Logger
}

// Service implements the chat protocol over a Store, a Presence and a Broadcaster.
// It is safe for concurrent use; per-socket state lives in Sessions.
type Service struct {
	store    Store
	presence Presence
	out      Broadcaster
	opts     Options
	log      *slog.Logger
	limits   *userLimits
	users    *roomUsersCoalescer
}

// NewService builds a Service. Stop it with Close.
func NewService(store Store, presence Presence, out Broadcaster, opts Options) *Service {
	if opts.TypingEvery <= 0 {
		opts.TypingEvery = 300 * time.Millisecond
	}
	if opts.TypingBurst <= 0 {
		opts.TypingBurst = 3
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{
		store:    store,
		presence: presence,
		out:      out,
		opts:     opts,
		log:      opts.Logger,
		limits:   newUserLimits(rate.Limit(opts.MessagesPerSecond), opts.MessageBurst),
	}
	s.users = newRoomUsersCoalescer(opts.RoomUsersInterval, s.sendRoomUsers)
	return s
}

// Close stops pending room_users timers.
func (s *Service) Close() { s.users.close() }

// Session is one socket's view of the protocol. Its methods must be called one at a time,
// in the order the socket's events arrived (the Socket.IO library's per-socket queue does
// that); Close must be the last call.
type Session struct {
	svc   *Service
	conn  Conn
	ns    string
	who   Principal
	rooms joinedRooms
	// typing throttles typing:true; made on the first one (most sockets never type, and a
	// new limiter starts with a full burst either way).
	typing *rate.Limiter
	// send is the user's send limiter, shared with their other sockets on this node; it is
	// acquired on the first send_message (see sendLimiter).
	send   *rate.Limiter
	closed bool
}

// Open starts the session of a socket that just connected to namespace ns: the socket
// joins the user's personal room.
func (s *Service) Open(ns string, conn Conn, who Principal) *Session {
	conn.Join(PersonalRoomPrefix + who.UserID)
	return &Session{
		svc:  s,
		conn: conn,
		ns:   ns,
		who:  who,
	}
}

// User is the session's user.
func (ss *Session) User() User { return ss.who.User }

func (ss *Session) ref(room string) RoomRef { return RoomRef{Namespace: ss.ns, Room: room} }

// Join handles join_room.
func (ss *Session) Join(ctx context.Context, req JoinRequest) (JoinReply, error) {
	if err := req.Validate(); err != nil {
		return JoinReply{}, err
	}
	if err := ss.mayJoin(req.RoomID); err != nil {
		return JoinReply{}, err
	}
	if !ss.rooms.has(req.RoomID) {
		if len(ss.rooms) >= ss.svc.opts.MaxRoomsPerSocket {
			return JoinReply{}, Errorf(CodeForbidden, "a socket may join at most %d rooms", ss.svc.opts.MaxRoomsPerSocket)
		}
		if err := ss.enter(ctx, req.RoomID); err != nil {
			return JoinReply{}, err
		}
	}
	limit := ss.svc.opts.DefaultHistoryLimit
	if req.HistoryLimit != nil {
		limit = *req.HistoryLimit
	}
	return ss.svc.joinReply(ctx, ss.ref(req.RoomID), ss.who.UserID, limit)
}

func (ss *Session) mayJoin(room string) error {
	if !ss.who.CanJoin(room) {
		return Errorf(CodeForbidden, "you may not join room %q", room)
	}
	return nil
}

// enter joins the socket to the room and announces the user when it is their first socket there.
// The socket joins the Socket.IO room before presence counts it, so every room_users list
// that names the user reaches this socket too.
func (ss *Session) enter(ctx context.Context, room string) error {
	ref := ss.ref(room)
	ss.conn.Join(room)
	first, err := ss.svc.presence.Add(ctx, ref, ss.who.User, ss.conn.ID())
	if err != nil {
		ss.conn.Leave(room)
		return fmt.Errorf("presence add %s%s: %w", ref.Namespace, room, err)
	}
	ss.rooms.set(room, false)
	if first {
		ss.svc.out.Emit(ref, EventUserJoined, ss.userEvent(room), EmitOptions{ExceptSocket: ss.conn.ID()})
		ss.svc.users.changed(ref)
	}
	return nil
}

func (s *Service) joinReply(ctx context.Context, ref RoomRef, userID string, limit int) (JoinReply, error) {
	users, count, err := s.presence.Users(ctx, ref, s.opts.MaxListedUsers)
	if err != nil {
		return JoinReply{}, fmt.Errorf("presence users: %w", err)
	}
	history := []Message{}
	if limit > 0 {
		if history, _, err = s.store.History(ctx, ref, "", limit); err != nil {
			return JoinReply{}, fmt.Errorf("history: %w", err)
		}
	}
	cursor, unread, err := s.store.ReadState(ctx, ref, userID)
	if err != nil {
		return JoinReply{}, fmt.Errorf("read state: %w", err)
	}
	return JoinReply{
		Success: true, RoomID: ref.Room, Users: nonNil(users), Count: count,
		History: nonNil(history), LastReadMessageID: optional(cursor), UnreadCount: unread,
	}, nil
}

// Leave handles leave_room; leaving a room that was not joined succeeds.
func (ss *Session) Leave(ctx context.Context, req RoomRequest) (RoomReply, error) {
	if err := req.Validate(); err != nil {
		return RoomReply{}, err
	}
	if ss.rooms.has(req.RoomID) {
		if err := ss.exit(ctx, req.RoomID); err != nil {
			return RoomReply{}, err
		}
	}
	return RoomReply{Success: true, RoomID: req.RoomID}, nil
}

// exit takes the socket out of the room: it stops typing there and announces the user's
// departure when this was their last socket in the room.
func (ss *Session) exit(ctx context.Context, room string) error {
	ref := ss.ref(room)
	if ss.rooms.typing(room) {
		ss.svc.out.Emit(ref, EventUserTyping, ss.typingEvent(room, false), EmitOptions{ExceptSocket: ss.conn.ID(), Volatile: true})
	}
	ss.rooms.remove(room)
	ss.conn.Leave(room)
	last, err := ss.svc.presence.Remove(ctx, ref, ss.who.UserID, ss.conn.ID())
	if err != nil {
		return fmt.Errorf("presence remove %s%s: %w", ref.Namespace, room, err)
	}
	if last {
		ss.svc.UserGone(ref, ss.who.User)
	}
	return nil
}

// UserGone announces that user has no socket left in the room: user_left, then a coalesced
// room_users. Cluster presence calls it for users of a node that died.
func (s *Service) UserGone(ref RoomRef, user User) { s.announce(ref, EventUserLeft, user) }

// UserBack announces that user is present in the room again although none of their
// sockets joined anew (cluster presence restored after an outage): user_joined, then a
// coalesced room_users.
func (s *Service) UserBack(ref RoomRef, user User) { s.announce(ref, EventUserJoined, user) }

// announce tells the whole room that user joined or left (event), then coalesces room_users.
func (s *Service) announce(ref RoomRef, event string, user User) {
	s.out.Emit(ref, event, UserEvent{RoomID: ref.Room, UserID: user.UserID, UserName: user.UserName}, EmitOptions{})
	s.users.changed(ref)
}

// Close ends the session (the socket is disconnecting): it leaves every room as leave_room
// would. Errors are logged, not returned: the socket is gone either way.
func (ss *Session) Close(ctx context.Context) {
	if ss.closed {
		return
	}
	ss.closed = true
	for _, room := range ss.rooms.names() {
		if err := ss.exit(ctx, room); err != nil {
			ss.svc.log.Error("leaving room on disconnect", "room", room, "user", ss.who.UserID, "err", err)
		}
	}
	if ss.send != nil {
		ss.svc.limits.release(ss.who.UserID)
	}
}

// Send handles send_message: done gets the reply once the message is stored and the room
// told. Bad input is answered before Send returns. With an AsyncAppender store, the rest
// is answered later, on the store's goroutine, and the answers of a session's sends come
// in the order of the calls; until its answer, nothing else of the session may depend on
// the message.
func (ss *Session) Send(ctx context.Context, req SendRequest, done func(SendReply, error)) {
	ref, msg, err := ss.prepare(req)
	if err != nil {
		done(ss.retryReply(ctx, req, err))
		return
	}
	if a, ok := ss.svc.store.(AsyncAppender); ok {
		a.AppendAsync(ctx, ref, msg, func(stored Message, duplicate bool, err error) {
			done(ss.svc.published(ref, msg, stored, duplicate, err))
		})
		return
	}
	stored, duplicate, err := ss.svc.store.Append(ctx, ref, msg)
	done(ss.svc.published(ref, msg, stored, duplicate, err))
}

// retryReply answers a send that prepare refused with err. A rate-limited retry of a
// message the user already stored still gets its original reply (PROTOCOL.md: retries are
// safe): a client whose ack was lost while it sent a burst must not be told that a stored,
// broadcast message failed. Only refused sends with a messageId pay for the store lookup.
func (ss *Session) retryReply(ctx context.Context, req SendRequest, err error) (SendReply, error) {
	var refused *Error
	if req.MessageID == nil || !errors.As(err, &refused) || refused.Code != CodeRateLimited {
		return SendReply{}, err
	}
	stored, found, ferr := ss.svc.store.FindSent(ctx, ss.ref(req.RoomID), ss.who.UserID, *req.MessageID)
	if ferr != nil {
		ss.svc.log.Error("looking up a rate-limited retry", "room", req.RoomID, "user", ss.who.UserID, "err", ferr)
	}
	if !found {
		return SendReply{}, err
	}
	return SendReply{Success: true, Message: stored, SavedID: stored.ID}, nil
}

// sendLimiter is the user's send limiter, acquired on the session's first send: most
// sockets of a node with many idle connections never send, and a limiter with its entry
// cost ~150 bytes of every connection.
func (ss *Session) sendLimiter() *rate.Limiter {
	if ss.send == nil {
		ss.send = ss.svc.limits.acquire(ss.who.UserID)
	}
	return ss.send
}

// prepare checks a send_message request against the session and makes its message.
func (ss *Session) prepare(req SendRequest) (RoomRef, Message, error) {
	if err := req.Validate(ss.svc.opts.MaxMessageLength); err != nil {
		return RoomRef{}, Message{}, err
	}
	if !ss.rooms.has(req.RoomID) {
		return RoomRef{}, Message{}, Errorf(CodeForbidden, "join room %q before sending to it", req.RoomID)
	}
	if !ss.sendLimiter().Allow() {
		return RoomRef{}, Message{}, Errorf(CodeRateLimited, "too many messages: at most %g per second", ss.svc.opts.MessagesPerSecond)
	}
	msg := Message{
		RoomID: req.RoomID, UserID: ss.who.UserID, UserName: ss.who.UserName,
		Content: req.Content, ReplyTo: req.ReplyTo, ClientMessageID: req.MessageID,
	}
	return ss.ref(req.RoomID), msg, nil
}

// Post stores a message from the HTTP API and broadcasts it; the content must be valid.
func (s *Service) Post(ctx context.Context, ref RoomRef, msg Message) (Message, error) {
	if err := ValidateContent(msg.Content, s.opts.MaxMessageLength); err != nil {
		return Message{}, err
	}
	msg.RoomID = ref.Room
	stored, duplicate, err := s.store.Append(ctx, ref, msg)
	reply, err := s.published(ref, msg, stored, duplicate, err)
	return reply.Message, err
}

// published turns the result of appending msg into the sender's reply and, unless msg
// was a retry of a stored message, tells the room.
func (s *Service) published(ref RoomRef, msg, stored Message, duplicate bool, err error) (SendReply, error) {
	if errors.Is(err, ErrNotFound) {
		return SendReply{}, Errorf(CodeNotFound, "replyTo %q is not a message of room %q", deref(msg.ReplyTo), ref.Room)
	}
	if err != nil {
		return SendReply{}, fmt.Errorf("append to %s%s: %w", ref.Namespace, ref.Room, err)
	}
	if !duplicate {
		s.out.Emit(ref, EventNewMessage, stored, EmitOptions{})
	}
	return SendReply{Success: true, Message: stored, SavedID: stored.ID}, nil
}

// History handles fetch_history.
func (ss *Session) History(ctx context.Context, req HistoryRequest) (HistoryReply, error) {
	if err := req.Validate(); err != nil {
		return HistoryReply{}, err
	}
	if err := ss.mayJoin(req.RoomID); err != nil {
		return HistoryReply{}, err
	}
	msgs, more, err := ss.svc.History(ctx, ss.ref(req.RoomID), req.Before, req.Limit)
	if err != nil {
		return HistoryReply{}, err
	}
	return HistoryReply{Success: true, RoomID: req.RoomID, Messages: msgs, HasMore: more}, nil
}

// DefaultFetchLimit is the page size of fetch_history and GET …/messages without a limit.
const DefaultFetchLimit = 50

// History pages through a room's messages (fetch_history, HTTP API): up to limit
// (DefaultFetchLimit when nil) messages strictly older than before, oldest first, never nil.
func (s *Service) History(ctx context.Context, ref RoomRef, before string, limit *int) ([]Message, bool, error) {
	n := DefaultFetchLimit
	if limit != nil {
		n = *limit
	}
	msgs, more, err := s.store.History(ctx, ref, before, n)
	if err != nil {
		return nil, false, fmt.Errorf("history: %w", err)
	}
	return nonNil(msgs), more, nil
}

// Typing handles typing_start (typing == true) and typing_end. Throttled typing:true is
// dropped silently and still succeeds.
func (ss *Session) Typing(req RoomRequest, typing bool) (RoomReply, error) {
	if err := req.Validate(); err != nil {
		return RoomReply{}, err
	}
	if !ss.rooms.has(req.RoomID) {
		return RoomReply{}, Errorf(CodeForbidden, "join room %q before typing in it", req.RoomID)
	}
	if typing && ss.typing == nil {
		ss.typing = rate.NewLimiter(rate.Every(ss.svc.opts.TypingEvery), ss.svc.opts.TypingBurst)
	}
	if !typing || ss.typing.Allow() {
		ss.rooms.set(req.RoomID, typing)
		ss.svc.out.Emit(ss.ref(req.RoomID), EventUserTyping, ss.typingEvent(req.RoomID, typing),
			EmitOptions{ExceptSocket: ss.conn.ID(), Volatile: true})
	}
	return RoomReply{Success: true, RoomID: req.RoomID}, nil
}

// Read handles read_messages.
func (ss *Session) Read(ctx context.Context, req ReadRequest) (ReadReply, error) {
	if err := req.Validate(); err != nil {
		return ReadReply{}, err
	}
	if err := ss.mayJoin(req.RoomID); err != nil {
		return ReadReply{}, err
	}
	ref := ss.ref(req.RoomID)
	cursor, unread, moved, err := ss.svc.store.MarkRead(ctx, ref, ss.who.UserID, req.MessageID)
	if errors.Is(err, ErrNotFound) {
		return ReadReply{}, Errorf(CodeNotFound, "message %q is not in room %q", req.MessageID, req.RoomID)
	}
	if err != nil {
		return ReadReply{}, fmt.Errorf("mark read: %w", err)
	}
	if moved {
		ss.svc.out.Emit(ref, EventMessagesRead, ReadEvent{
			RoomID: req.RoomID, UserID: ss.who.UserID, UserName: ss.who.UserName,
			MessageID: cursor, ReadAt: time.Now().UTC().Format(TimestampLayout),
		}, EmitOptions{})
	}
	return ReadReply{Success: true, RoomID: req.RoomID, MessageID: cursor, UnreadCount: unread}, nil
}

// RoomUsers lists the users present in a room (HTTP API), capped at max_listed_users.
func (s *Service) RoomUsers(ctx context.Context, ref RoomRef) ([]User, int, error) {
	users, count, err := s.presence.Users(ctx, ref, s.opts.MaxListedUsers)
	if err != nil {
		return nil, 0, fmt.Errorf("presence users: %w", err)
	}
	return nonNil(users), count, nil
}

// sendRoomUsers broadcasts the room's user list; a list that cannot be read is logged and
// not sent (the next change sends the room's list again).
func (s *Service) sendRoomUsers(ref RoomRef) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	users, count, err := s.RoomUsers(ctx, ref)
	if err != nil {
		s.log.Error("room_users", "namespace", ref.Namespace, "room", ref.Room, "err", err)
		return
	}
	s.out.Emit(ref, EventRoomUsers, RoomUsersEvent{RoomID: ref.Room, Users: users, Count: count}, EmitOptions{})
}

func (ss *Session) userEvent(room string) UserEvent {
	return UserEvent{RoomID: room, UserID: ss.who.UserID, UserName: ss.who.UserName}
}

func (ss *Session) typingEvent(room string, typing bool) TypingEvent {
	return TypingEvent{RoomID: room, UserID: ss.who.UserID, UserName: ss.who.UserName, Typing: typing}
}

// userLimits shares one send-rate limiter among a user's sockets on this node. A limiter
// outlives the user's last socket until it would have refilled its whole burst, so that
// reconnecting does not reset a user's limit; released limiters are dropped in the order
// they were released, as later calls find them due.
type userLimits struct {
	mu     sync.Mutex
	every  rate.Limit
	burst  int
	refill time.Duration // how long a released limiter is kept: an empty one has refilled by then
	users  map[string]*userLimit
	idle   []idleLimit      // released limiters, oldest release first
	now    func() time.Time // the clock; tests set it
}

type userLimit struct {
	lim        *rate.Limiter
	refs       int
	releasedAt time.Time // when refs last fell to 0
}

// idleLimit is a user whose limiter no socket held from at on.
type idleLimit struct {
	user string
	at   time.Time
}

func newUserLimits(every rate.Limit, burst int) *userLimits {
	var refill time.Duration
	if every > 0 && every != rate.Inf {
		refill = time.Duration(float64(burst) / float64(every) * float64(time.Second))
	}
	return &userLimits{every: every, burst: burst, refill: refill, users: make(map[string]*userLimit), now: time.Now}
}

func (l *userLimits) acquire(user string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(l.now())
	u := l.users[user]
	if u == nil {
		u = &userLimit{lim: rate.NewLimiter(l.every, l.burst)}
		l.users[user] = u
	}
	u.refs++
	return u.lim
}

func (l *userLimits) release(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.users[user]
	if u == nil {
		return
	}
	if u.refs--; u.refs <= 0 {
		now := l.now()
		u.releasedAt = now
		l.idle = append(l.idle, idleLimit{user: user, at: now})
		l.prune(now)
	}
}

// prune drops the limiters released at least refill before now and not held since; call
// with l.mu held.
func (l *userLimits) prune(now time.Time) {
	n := 0
	for _, e := range l.idle {
		if now.Sub(e.at) < l.refill {
			break
		}
		if u := l.users[e.user]; u != nil && u.refs <= 0 && u.releasedAt.Equal(e.at) {
			delete(l.users, e.user)
		}
		n++
	}
	clear(l.idle[:n])
	l.idle = l.idle[n:]
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
