package sio

import (
	"context"

	"github.com/iohub/iohub/server/chat"
)

// handleFunc runs one client event on a session, given the event's first argument, and
// calls done once with the reply (before it returns, unless the route is pipelined).
type handleFunc func(ctx context.Context, ss *chat.Session, payload any, done func(reply any, err error))

// route is how one client event is handled and answered.
type route struct {
	handle handleFunc
	// pipelined routes may be answered after the handler returns, and the socket's next
	// event of such a route may start meanwhile (send_message: the store writes a socket's
	// consecutive messages in one commit). Any other event waits until the socket's earlier
	// events are answered.
	pipelined bool
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
	return later(decode, func(ss *chat.Session, ctx context.Context, req Req, done func(Res, error)) {
		done(h(ss, ctx, req))
	})
}

// later is typed for a handler that answers through a callback, possibly after it returns.
func later[Req, Res any](decode func(any) (Req, error), h func(*chat.Session, context.Context, Req, func(Res, error))) handleFunc {
	return func(ctx context.Context, ss *chat.Session, payload any, done func(any, error)) {
		req, err := decode(payload)
		if err != nil {
			done(nil, err)
			return
		}
		h(ss, ctx, req, func(reply Res, err error) { done(reply, err) })
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
		handle:    later(decodeSend, (*chat.Session).Send),
		pipelined: true,
		answerTo:  sendAnswerEvent,
	},
	"fetch_history": {handle: typed(decodeHistory, (*chat.Session).History)},
	"read_messages": {handle: typed(decodeRead, (*chat.Session).Read)},
	"typing_start":  {handle: typing(true)},
	"typing":        {handle: typing(true)},
	"typing_end":    {handle: typing(false)},
}
