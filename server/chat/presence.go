package chat

import "context"

// User is a user as presence lists show it.
type User struct {
	UserID   string `json:"userId" msgpack:"userId"`
	UserName string `json:"userName" msgpack:"userName"`
}

// Presence counts which users have sockets in which rooms, across every node that shares it.
//
// Implementations are safe for concurrent use. Add and Remove are idempotent per socket id:
// adding the same socket twice or removing an absent one changes nothing.
type Presence interface {
	// Add records socket sid of user in the room. first is true when this is the user's
	// first socket in the room (so user_joined must be announced).
	Add(ctx context.Context, room RoomRef, user User, sid string) (first bool, err error)

	// Remove forgets socket sid of userID in the room. last is true when the user has no
	// socket left in the room (so user_left must be announced).
	Remove(ctx context.Context, room RoomRef, userID, sid string) (last bool, err error)

	// Users lists up to max users present in the room, sorted by UserID, and the exact count.
	Users(ctx context.Context, room RoomRef, max int) (users []User, count int, err error)
}
