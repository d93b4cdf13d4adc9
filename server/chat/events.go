package chat

// Event names the server emits to clients.
const (
	EventNewMessage   = "new_message"
	EventUserJoined   = "user_joined"
	EventUserLeft     = "user_left"
	EventRoomUsers    = "room_users"
	EventUserTyping   = "user_typing"
	EventMessagesRead = "messages_read"
)

// Broadcast payloads. They carry msgpack tags as well as json tags because cluster traffic
// is msgpack-encoded.
type (
	// UserEvent is the payload of user_joined and user_left.
	UserEvent struct {
		RoomID   string `json:"roomId" msgpack:"roomId"`
		UserID   string `json:"userId" msgpack:"userId"`
		UserName string `json:"userName" msgpack:"userName"`
	}

	// RoomUsersEvent is the payload of room_users.
	RoomUsersEvent struct {
		RoomID string `json:"roomId" msgpack:"roomId"`
		Users  []User `json:"users" msgpack:"users"`
		Count  int    `json:"count" msgpack:"count"`
	}

	// TypingEvent is the payload of user_typing.
	TypingEvent struct {
		RoomID   string `json:"roomId" msgpack:"roomId"`
		UserID   string `json:"userId" msgpack:"userId"`
		UserName string `json:"userName" msgpack:"userName"`
		Typing   bool   `json:"typing" msgpack:"typing"`
	}

	// ReadEvent is the payload of messages_read.
	ReadEvent struct {
		RoomID    string `json:"roomId" msgpack:"roomId"`
		UserID    string `json:"userId" msgpack:"userId"`
		UserName  string `json:"userName" msgpack:"userName"`
		MessageID string `json:"messageId" msgpack:"messageId"`
		ReadAt    string `json:"readAt" msgpack:"readAt"`
	}
)

// Replies to client events. Success is always true: failures are *Error values.
type (
	// JoinReply answers join_room (and is the joined_room event without a callback).
	JoinReply struct {
		Success           bool      `json:"success"`
		RoomID            string    `json:"roomId"`
		Users             []User    `json:"users"`
		Count             int       `json:"count"`
		History           []Message `json:"history"`
		LastReadMessageID *string   `json:"lastReadMessageId"`
		UnreadCount       int       `json:"unreadCount"`
	}

	// RoomReply answers leave_room (left_room without a callback), typing_start and typing_end.
	RoomReply struct {
		Success bool   `json:"success"`
		RoomID  string `json:"roomId"`
	}

	// SendReply answers send_message.
	SendReply struct {
		Success bool    `json:"success"`
		Message Message `json:"message"`
		SavedID string  `json:"savedId"`
	}

	// HistoryReply answers fetch_history.
	HistoryReply struct {
		Success  bool      `json:"success"`
		RoomID   string    `json:"roomId"`
		Messages []Message `json:"messages"`
		HasMore  bool      `json:"hasMore"`
	}

	// ReadReply answers read_messages with the cursor after the call.
	ReadReply struct {
		Success     bool   `json:"success"`
		RoomID      string `json:"roomId"`
		MessageID   string `json:"messageId"`
		UnreadCount int    `json:"unreadCount"`
	}
)
