package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of client input that are fixed by the protocol.
const (
	// MaxMessageIDLength is the longest client messageId, in code points.
	MaxMessageIDLength = 128
	// MaxHistoryLimit bounds historyLimit and fetch_history's limit.
	MaxHistoryLimit = 200
	// PersonalRoomPrefix starts the personal room of every user (user:<sub>).
	PersonalRoomPrefix = "user:"
)

// roomIDPattern is the form of a room id, as the error message states it; validRoomID
// checks it (a regexp match cost ~1 % of the CPU of a send_message).
const roomIDPattern = `^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`

// validRoomID reports whether id matches roomIDPattern.
func validRoomID(id string) bool {
	if len(id) == 0 || len(id) > 128 || !isAlnum(id[0]) {
		return false
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !isAlnum(c) && c != '_' && c != '.' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// ValidateRoomID checks a client-supplied room id: bad_request when malformed, forbidden for
// personal rooms.
func ValidateRoomID(id string) error {
	if !validRoomID(id) {
		return Errorf(CodeBadRequest, "roomId must match %s", roomIDPattern)
	}
	if strings.HasPrefix(id, PersonalRoomPrefix) {
		return Errorf(CodeForbidden, "personal rooms (%s…) cannot be used here", PersonalRoomPrefix)
	}
	return nil
}

// RoomRequest names a room: leave_room, typing_start, typing_end.
type RoomRequest struct {
	RoomID string
}

// Validate checks the room id.
func (r RoomRequest) Validate() error { return ValidateRoomID(r.RoomID) }

// JoinRequest is join_room's payload. HistoryLimit is nil when absent.
type JoinRequest struct {
	RoomID       string
	HistoryLimit *int
}

// Validate checks the room id and the history limit's range.
func (r JoinRequest) Validate() error {
	if err := ValidateRoomID(r.RoomID); err != nil {
		return err
	}
	return checkRange("historyLimit", r.HistoryLimit, 0, MaxHistoryLimit)
}

// SendRequest is send_message's payload.
type SendRequest struct {
	RoomID    string
	Content   string
	ReplyTo   *string
	MessageID *string
}

// Validate checks every field; maxLength is limits.max_message_length.
func (r SendRequest) Validate(maxLength int) error {
	if err := ValidateRoomID(r.RoomID); err != nil {
		return err
	}
	if err := ValidateContent(r.Content, maxLength); err != nil {
		return err
	}
	if r.ReplyTo != nil && *r.ReplyTo == "" {
		return Errorf(CodeBadRequest, "replyTo must be null or a message id")
	}
	return nil
}

// ValidateContent checks message content: a string, not blank, at most maxLength code points.
func ValidateContent(content string, maxLength int) error {
	if strings.TrimFunc(content, unicode.IsSpace) == "" {
		return Errorf(CodeBadRequest, "content must not be blank")
	}
	if n := utf8.RuneCountInString(content); n > maxLength {
		return Errorf(CodeTooLarge, "content is %d characters, the limit is %d", n, maxLength)
	}
	return nil
}

// ValidateMessageID checks a client messageId: non-empty, at most MaxMessageIDLength code points.
func ValidateMessageID(id string) error {
	if id == "" || utf8.RuneCountInString(id) > MaxMessageIDLength {
		return Errorf(CodeBadRequest, "messageId must be 1 to %d characters", MaxMessageIDLength)
	}
	return nil
}

// HistoryRequest is fetch_history's payload.
type HistoryRequest struct {
	RoomID string
	Before string
	Limit  *int
}

// Validate checks the room id and the limit's range.
func (r HistoryRequest) Validate() error {
	if err := ValidateRoomID(r.RoomID); err != nil {
		return err
	}
	return checkRange("limit", r.Limit, 1, MaxHistoryLimit)
}

// ReadRequest is read_messages' payload.
type ReadRequest struct {
	RoomID    string
	MessageID string
}

// Validate checks the room id and that a message id is given.
func (r ReadRequest) Validate() error {
	if err := ValidateRoomID(r.RoomID); err != nil {
		return err
	}
	if r.MessageID == "" || utf8.RuneCountInString(r.MessageID) > MaxMessageIDLength {
		return Errorf(CodeBadRequest, "messageId must be a message id")
	}
	return nil
}

func checkRange(name string, v *int, lo, hi int) error {
	if v != nil && (*v < lo || *v > hi) {
		return Errorf(CodeBadRequest, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return nil
}
