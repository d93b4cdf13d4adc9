package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/iohub/iohub/server/chat"
)

// Presence is a chat.Presence for a single node, held in memory behind one lock.
type Presence struct {
	mu    sync.Mutex
	rooms map[chat.RoomRef]map[string]*member // room -> user id -> member
}

var _ chat.Presence = (*Presence)(nil)

// member is a user present in a room and the sockets that keep them there (a user has
// few sockets, mostly one: a slice costs far less than a map per member).
type member struct {
	user    chat.User
	sockets []string
}

// NewPresence returns an empty Presence.
func NewPresence() *Presence {
	return &Presence{rooms: make(map[chat.RoomRef]map[string]*member)}
}

// Add implements chat.Presence. A user's name is the one given with their first socket.
func (p *Presence) Add(_ context.Context, room chat.RoomRef, user chat.User, sid string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := p.rooms[room]
	if members == nil {
		members = make(map[string]*member)
		p.rooms[room] = members
	}
	m := members[user.UserID]
	first := m == nil
	if first {
		m = &member{user: user}
		members[user.UserID] = m
	}
	if !slices.Contains(m.sockets, sid) {
		m.sockets = append(m.sockets, sid)
	}
	return first, nil
}

// Remove implements chat.Presence.
func (p *Presence) Remove(_ context.Context, room chat.RoomRef, userID, sid string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := p.rooms[room]
	m := members[userID]
	if m == nil {
		return false, nil
	}
	i := slices.Index(m.sockets, sid)
	if i < 0 {
		return false, nil
	}
	m.sockets = slices.Delete(m.sockets, i, i+1)
	if len(m.sockets) > 0 {
		return false, nil
	}
	delete(members, userID)
	if len(members) == 0 {
		delete(p.rooms, room)
	}
	return true, nil
}

// Users implements chat.Presence.
func (p *Presence) Users(_ context.Context, room chat.RoomRef, limit int) ([]chat.User, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	members := p.rooms[room]
	users := make([]chat.User, 0, len(members))
	for _, m := range members {
		users = append(users, m.user)
	}
	slices.SortFunc(users, func(a, b chat.User) int { return cmp.Compare(a.UserID, b.UserID) })
	return users[:min(len(users), max(limit, 0))], len(users), nil
}
