package chat

import "slices"

// joinedRooms are a session's rooms, each with whether the socket is typing there. A
// socket is in a few rooms and stays for hours: a slice costs 24 bytes a room, where a
// map cost ~250 bytes of every idle connection for its first room.
type joinedRooms []joinedRoom

type joinedRoom struct {
	room   string
	typing bool
}

func (j joinedRooms) index(room string) int {
	return slices.IndexFunc(j, func(r joinedRoom) bool { return r.room == room })
}

// has reports whether the socket joined room.
func (j joinedRooms) has(room string) bool { return j.index(room) >= 0 }

// typing reports whether the socket is typing in room.
func (j joinedRooms) typing(room string) bool {
	i := j.index(room)
	return i >= 0 && j[i].typing
}

// set records room as joined, with the socket typing there or not.
func (j *joinedRooms) set(room string, typing bool) {
	if i := j.index(room); i >= 0 {
		(*j)[i].typing = typing
		return
	}
	*j = append(*j, joinedRoom{room: room, typing: typing})
}

// remove forgets room.
func (j *joinedRooms) remove(room string) {
	if i := j.index(room); i >= 0 {
		*j = slices.Delete(*j, i, i+1)
	}
}

// names are the joined rooms, in the order they were joined (a copy).
func (j joinedRooms) names() []string {
	names := make([]string, len(j))
	for i, r := range j {
		names[i] = r.room
	}
	return names
}
