// Package server mounts iohub on HTTP: Socket.IO at /socket.io/, the HTTP API under /api/v1,
// health, readiness and metrics.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/iohub/iohub/config"
)

// Server is one iohub node.
type Server struct{}

// New builds a server from a validated configuration. It opens the store and, in cluster
// mode, connects to Redis.
func New(cfg config.Config, logger *slog.Logger) (*Server, error) {
	return nil, errors.New("server: not implemented yet")
}

// Handler is the whole HTTP surface of the node.
func (s *Server) Handler() http.Handler { return http.NotFoundHandler() }

// Serve accepts connections on ln until Shutdown; it returns nil after a graceful shutdown.
func (s *Server) Serve(ln net.Listener) error { return errors.New("server: not implemented yet") }

// Shutdown stops accepting, lets in-flight handlers finish, disconnects every socket so
// clients reconnect elsewhere, and flushes the store, giving up when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return nil }
