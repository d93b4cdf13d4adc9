package chat

import (
	"strconv"

	"github.com/iohub/iohub/server/internal/jsonenc"
)

// AppendJSON appends m's JSON encoding, byte for byte what json.Marshal writes, without
// reflection: every message is encoded twice (its new_message broadcast and the sender's
// reply), and json.Marshal was ~5 % of the CPU of an acknowledged send_message.
func (m Message) AppendJSON(dst []byte) []byte {
	dst = jsonenc.AppendString(append(dst, `{"id":`...), m.ID)
	dst = jsonenc.AppendString(append(dst, `,"roomId":`...), m.RoomID)
	dst = jsonenc.AppendString(append(dst, `,"userId":`...), m.UserID)
	dst = jsonenc.AppendString(append(dst, `,"userName":`...), m.UserName)
	dst = jsonenc.AppendString(append(dst, `,"content":`...), m.Content)
	dst = jsonenc.AppendOptString(append(dst, `,"replyTo":`...), m.ReplyTo)
	dst = jsonenc.AppendOptString(append(dst, `,"clientMessageId":`...), m.ClientMessageID)
	dst = jsonenc.AppendString(append(dst, `,"timestamp":`...), m.Timestamp)
	return append(dst, '}')
}

// AppendJSON appends r's JSON encoding, byte for byte what json.Marshal writes (see
// Message.AppendJSON).
func (r SendReply) AppendJSON(dst []byte) []byte {
	dst = strconv.AppendBool(append(dst, `{"success":`...), r.Success)
	dst = r.Message.AppendJSON(append(dst, `,"message":`...))
	dst = jsonenc.AppendString(append(dst, `,"savedId":`...), r.SavedID)
	return append(dst, '}')
}
