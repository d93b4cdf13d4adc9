package sio

import (
	"math"

	"github.com/iohub/iohub/server/chat"
)

// object is a decoded JSON object payload.
type object map[string]any

// asObject returns v as an object, or a bad_request error naming what was expected.
func asObject(v any, want string) (object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, chat.Errorf(chat.CodeBadRequest, "payload must be %s", want)
	}
	return object(m), nil
}

// lookup returns the first of keys that is present and not null.
func (o object) lookup(keys ...string) (key string, v any, ok bool) {
	for _, k := range keys {
		if v, present := o[k]; present && v != nil {
			return k, v, true
		}
	}
	return keys[0], nil, false
}

// str reads a required string field (under any of its aliases).
func (o object) str(keys ...string) (string, error) {
	s, present, err := o.strField(keys...)
	if err == nil && !present {
		err = chat.Errorf(chat.CodeBadRequest, "%s is required", keys[0])
	}
	return s, err
}

// optStr reads an optional string field: nil when absent or null.
func (o object) optStr(keys ...string) (*string, error) {
	s, present, err := o.strField(keys...)
	if !present || err != nil {
		return nil, err
	}
	return new(s), nil
}

// strField reads a string field; present is false when it is absent or null. Required
// fields read through it without the pointer optStr allocates.
func (o object) strField(keys ...string) (s string, present bool, err error) {
	key, v, ok := o.lookup(keys...)
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, chat.Errorf(chat.CodeBadRequest, "%s must be a string", key)
	}
	return s, true, nil
}

// optInt reads an optional integer field: nil when absent or null.
func (o object) optInt(key string) (*int, error) {
	v, present := o[key]
	if !present || v == nil {
		return nil, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return nil, chat.Errorf(chat.CodeBadRequest, "%s must be an integer", key)
	}
	if f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return nil, chat.Errorf(chat.CodeBadRequest, "%s must be an integer", key)
	}
	i := int(f)
	return &i, nil
}

// roomOf reads a room from a bare string or an object's roomId (alias room).
func roomOf(v any) (string, object, error) {
	if s, ok := v.(string); ok {
		return s, nil, nil
	}
	o, err := asObject(v, "a roomId string or an object with roomId")
	if err != nil {
		return "", nil, err
	}
	room, err := o.str("roomId", "room")
	return room, o, err
}

func decodeRoom(v any) (chat.RoomRequest, error) {
	room, _, err := roomOf(v)
	return chat.RoomRequest{RoomID: room}, err
}

func decodeJoin(v any) (chat.JoinRequest, error) {
	room, o, err := roomOf(v)
	if err != nil {
		return chat.JoinRequest{}, err
	}
	req := chat.JoinRequest{RoomID: room}
	req.HistoryLimit, err = o.optInt("historyLimit")
	return req, err
}

func decodeSend(v any) (chat.SendRequest, error) {
	o, err := asObject(v, "an object with roomId and content")
	if err != nil {
		return chat.SendRequest{}, err
	}
	var req chat.SendRequest
	if req.MessageID, err = o.optStr("messageId"); err != nil {
		return req, err
	}
	if req.MessageID != nil {
		if err := chat.ValidateMessageID(*req.MessageID); err != nil {
			return req, err
		}
	}
	if req.RoomID, err = o.str("roomId", "room"); err != nil {
		return req, err
	}
	if req.Content, err = o.str("content", "message"); err != nil {
		return req, err
	}
	req.ReplyTo, err = o.optStr("replyTo")
	return req, err
}

func decodeHistory(v any) (chat.HistoryRequest, error) {
	room, o, err := roomOf(v)
	if err != nil {
		return chat.HistoryRequest{}, err
	}
	req := chat.HistoryRequest{RoomID: room}
	before, err := o.optStr("before")
	if err != nil {
		return req, err
	}
	if before != nil {
		req.Before = *before
	}
	req.Limit, err = o.optInt("limit")
	return req, err
}

func decodeRead(v any) (chat.ReadRequest, error) {
	o, err := asObject(v, "an object with roomId and messageId")
	if err != nil {
		return chat.ReadRequest{}, err
	}
	var req chat.ReadRequest
	if req.RoomID, err = o.str("roomId", "room"); err != nil {
		return req, err
	}
	req.MessageID, err = o.str("messageId")
	return req, err
}

// sendAnswerEvent is where a send_message without a callback is answered: ack:<messageId>
// when the payload carries a valid messageId, else "" (the error event, on failure only).
func sendAnswerEvent(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	id, ok := m["messageId"].(string)
	if !ok || chat.ValidateMessageID(id) != nil {
		return ""
	}
	return "ack:" + id
}
