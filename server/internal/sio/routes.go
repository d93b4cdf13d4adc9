package sio

import (
	"context"

	"github.com/iohub/iohub/server/chat"
)

// handleFunc runs one client event on a session, given the event's first argument.
type handleFunc func(ctx context.Context, ss *chat.Session, payload any) (reply any, err error)

// route is how one client event is handled and answered.
type route struct {
	handle handleFunc
	// unacked, when set, names the event a success is announced on when the client gave no
	// callback, and what it carries (joined_room, left_room).
	unacked func(reply any) (event string, data any)
	// answerTo, when set, names the event that answers a call without a callback, success or
	// failure (send_message's ack:<messageId>); "" falls back to the usual paths.
	answerTo func(payload any) string
}

// typed adapts a decoder and a typed handler into a handleFunc: the payload is decoded
// once, then the handler works on typed values only.
func typed[Req, Res any](decode func(any) (Req, error), h func(*chat.Session, context.Context, Req) (Res, error)) handleFunc {
	return func(ctx context.Context, ss *chat.Session, payload any) (any, error) {
		req, err := decode(payload)
		if err != nil {
			return nil, err
		}
		return h(ss, ctx, req)
	}
}

func typing(on bool) handleFunc {
	return typed(decodeRoom, func(ss *chat.Session, _ context.Context, req chat.RoomRequest) (chat.RoomReply, error) {
		return ss.Typing(req, on)
	})
}

// routes is the protocol's event table.
var routes = map[string]route{
	"join_room": {
		handle:  typed(decodeJoin, (*chat.Session).Join),
		unacked: func(reply any) (string, any) { return "joined_room", reply },
	},
	"leave_room": {
		handle: typed(decodeRoom, (*chat.Session).Leave),
		unacked: func(reply any) (string, any) {
			r, _ := reply.(chat.RoomReply)
			return "left_room", map[string]any{"roomId": r.RoomID}
		},
	},
	"send_message": {
		handle:   typed(decodeSend, (*chat.Session).Send),
		answerTo: sendAnswerEvent,
	},
	"fetch_history": {handle: typed(decodeHistory, (*chat.Session).History)},
	"read_messages": {handle: typed(decodeRead, (*chat.Session).Read)},
	"typing_start":  {handle: typing(true)},
	"typing":        {handle: typing(true)},
	"typing_end":    {handle: typing(false)},
}
