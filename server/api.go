package server

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/iohub/iohub/server/chat"
)

// maxAPIBody bounds HTTP API request bodies.
const maxAPIBody = 1 << 20

// reservedEvents cannot be emitted through the HTTP API (Socket.IO reserves them).
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"error": true, "newListener": true, "removeListener": true,
}

// mountAPI registers the /api/v1 routes on mux, and a catch-all for the rest of /api/ so
// that every answer there, errors included, is the JSON of PROTOCOL.md (never the mux's
// plain-text 404 or 405).
func (s *Server) mountAPI(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/emit", s.apiAuth(s.apiEmit))
	mux.Handle("POST /api/v1/rooms/{roomId}/messages", s.apiAuth(s.apiPostMessage))
	mux.Handle("GET /api/v1/rooms/{roomId}/messages", s.apiAuth(s.apiHistory))
	mux.Handle("GET /api/v1/rooms/{roomId}/users", s.apiAuth(s.apiUsers))
	// Any method, so less specific than every route above: it only gets what they do not
	// match (unknown paths, wrong methods). Behind apiAuth like the routes, so callers
	// without a valid key learn nothing about which paths exist.
	mux.Handle("/api/", s.apiAuth(apiNoRoute))
}

// apiNoRoute answers requests under /api/ that match no API route: 404 not_found.
func apiNoRoute(r *http.Request) (int, any, error) {
	return 0, nil, chat.Errorf(chat.CodeNotFound, "no API route for %s %s", r.Method, r.URL.Path)
}

// apiHandler is an API route: it returns the status and body to send, or an error.
type apiHandler func(r *http.Request) (status int, body any, err error)

// apiAuth checks the bearer key (404 not_found when no key is configured, 401 when
// missing or wrong) and writes the handler's answer as JSON.
func (s *Server) apiAuth(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.apiKeys) == 0 {
			writeError(w, chat.Errorf(chat.CodeNotFound, "the HTTP API is disabled: no API key is configured (api.keys)"))
			return
		}
		if !s.validAPIKey(r.Header.Get("Authorization")) {
			writeError(w, chat.Errorf(chat.CodeUnauthorized, "a valid API key is required: Authorization: Bearer <key>"))
			return
		}
		status, body, err := h(r)
		if err != nil {
			e := chat.AsError(err)
			if e.Code == chat.CodeInternal {
				s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
			writeError(w, e)
			return
		}
		writeJSON(w, status, body)
	})
}

func (s *Server) validAPIKey(header string) bool {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	for _, k := range s.apiKeys {
		if subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeError(w http.ResponseWriter, e *chat.Error) {
	writeJSON(w, e.Code.HTTPStatus(), map[string]any{"success": false, "code": e.Code, "error": e.Message})
}

// decodeBody reads a JSON object body into v, refusing unreadable or oversized bodies.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil {
		return chat.Errorf(chat.CodeBadRequest, "reading body: %v", err)
	}
	if len(body) > maxAPIBody {
		return chat.Errorf(chat.CodeTooLarge, "body is over %d bytes", maxAPIBody)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return chat.Errorf(chat.CodeBadRequest, "body must be a JSON object: %v", err)
	}
	return nil
}

// emitRequest is the body of POST /api/v1/emit.
type emitRequest struct {
	Namespace string          `json:"namespace"`
	Rooms     []string        `json:"rooms"`
	Except    []string        `json:"except"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
}

func (s *Server) apiEmit(r *http.Request) (int, any, error) {
	var req emitRequest
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	ns, err := s.namespace(req.Namespace)
	if err != nil {
		return 0, nil, err
	}
	if err := validateEmit(req); err != nil {
		return 0, nil, err
	}
	var data any
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &data); err != nil {
			return 0, nil, chat.Errorf(chat.CodeBadRequest, "data: %v", err)
		}
	}
	s.hub.EmitRaw(ns, req.Rooms, req.Except, req.Event, data)
	return http.StatusAccepted, map[string]any{"success": true}, nil
}

func validateEmit(req emitRequest) error {
	if len(req.Rooms) == 0 {
		return chat.Errorf(chat.CodeBadRequest, "rooms must be a non-empty list of room names")
	}
	for _, room := range append(append([]string{}, req.Rooms...), req.Except...) {
		if room == "" {
			return chat.Errorf(chat.CodeBadRequest, "room names must not be empty")
		}
	}
	if req.Event == "" {
		return chat.Errorf(chat.CodeBadRequest, "event is required")
	}
	if reservedEvents[req.Event] {
		return chat.Errorf(chat.CodeBadRequest, "%q is a reserved event name", req.Event)
	}
	return nil
}

// postRequest is the body of POST /api/v1/rooms/{roomId}/messages.
type postRequest struct {
	Content  *string `json:"content"`
	UserID   string  `json:"userId"`
	UserName string  `json:"userName"`
}

func (s *Server) apiPostMessage(r *http.Request) (int, any, error) {
	ref, err := s.roomRef(r)
	if err != nil {
		return 0, nil, err
	}
	var req postRequest
	if err := decodeBody(r, &req); err != nil {
		return 0, nil, err
	}
	if req.Content == nil {
		return 0, nil, chat.Errorf(chat.CodeBadRequest, "content is required")
	}
	msg := chat.Message{UserID: "system", UserName: "System", Content: *req.Content}
	if req.UserID != "" {
		msg.UserID = req.UserID
	}
	if req.UserName != "" {
		msg.UserName = req.UserName
	}
	stored, err := s.svc.Post(r.Context(), ref, msg)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, stored, nil
}

func (s *Server) apiHistory(r *http.Request) (int, any, error) {
	ref, err := s.roomRef(r)
	if err != nil {
		return 0, nil, err
	}
	var limit *int
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > chat.MaxHistoryLimit {
			return 0, nil, chat.Errorf(chat.CodeBadRequest, "limit must be an integer from 1 to %d", chat.MaxHistoryLimit)
		}
		limit = &n
	}
	msgs, more, err := s.svc.History(r.Context(), ref, r.URL.Query().Get("before"), limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"messages": msgs, "hasMore": more}, nil
}

func (s *Server) apiUsers(r *http.Request) (int, any, error) {
	ref, err := s.roomRef(r)
	if err != nil {
		return 0, nil, err
	}
	users, count, err := s.svc.RoomUsers(r.Context(), ref)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"users": users, "count": count}, nil
}

// roomRef reads and checks the {roomId} path value and the namespace query parameter.
func (s *Server) roomRef(r *http.Request) (chat.RoomRef, error) {
	room := r.PathValue("roomId")
	if err := chat.ValidateRoomID(room); err != nil {
		return chat.RoomRef{}, err
	}
	ns, err := s.namespace(r.URL.Query().Get("namespace"))
	return chat.RoomRef{Namespace: ns, Room: room}, err
}

// namespace checks that name ("" means "/") is a chat namespace.
func (s *Server) namespace(name string) (string, error) {
	if name == "" {
		name = "/"
	}
	if !s.isNamespace(name) {
		return "", chat.Errorf(chat.CodeNotFound, "%q is not a chat namespace", name)
	}
	return name, nil
}
