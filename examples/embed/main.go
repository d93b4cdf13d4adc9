// Command embed runs iohub inside another Go program: the program builds the configuration in
// code, owns the listener and decides when to stop, here on SIGINT or SIGTERM.
//
//	JWT_SECRET=change-me go run ./examples/embed -listen 127.0.0.1:3000 -data ./chat-data
//
// Clients connect to http://127.0.0.1:3000 with tokens signed with JWT_SECRET (for instance
// `IOHUB_AUTH_JWT_SECRET=change-me iohub token --sub alice`). A program that already has an HTTP
// server can mount srv.Handler() in its own mux instead of calling Serve; it then calls
// Shutdown too, so that sockets are closed and the store is flushed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/iohub/iohub/config"
	"github.com/iohub/iohub/server"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:3000", "address to serve iohub on")
	dataDir := flag.String("data", "./chat-data", "directory of the message store")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	if err := start(ctx, *listen, *dataDir, logger); err != nil {
		logger.Error("chat server failed", "error", err)
		os.Exit(1)
	}
}

// start configures iohub, listens on addr and runs until ctx ends.
func start(ctx context.Context, addr, dataDir string, logger *slog.Logger) error {
	cfg, err := chatConfig(os.Getenv("JWT_SECRET"), dataDir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return run(ctx, cfg, ln, logger)
}

// chatConfig is iohub's default configuration with this program's choices: the HS256 secret
// tokens are signed with, and where messages are stored. Every other field keeps its default
// (see package config); Validate names the key of the first bad value.
func chatConfig(secret, dataDir string) (config.Config, error) {
	if secret == "" {
		return config.Config{}, errors.New("set JWT_SECRET to the secret your tokens are signed with")
	}
	cfg := config.Default()
	cfg.Auth.JWT.Secret = secret
	cfg.Store.Driver = "bolt" // an embedded file store; "memory" keeps nothing across restarts
	cfg.Store.Path = dataDir
	cfg.CORS.Origins = []string{"http://127.0.0.1:8080"} // the browser origins of your web app
	return cfg, cfg.Validate()
}

// run serves iohub on ln until ctx ends, then shuts it down gracefully within
// cfg.ShutdownTimeout. It returns nil after a graceful stop.
func run(ctx context.Context, cfg config.Config, ln net.Listener, logger *slog.Logger) error {
	srv, err := server.New(cfg, logger)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	logger.Info("chat server listening", "addr", ln.Addr().String())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served: // Serve only returns early on a listener failure
		return errors.Join(fmt.Errorf("serving: %w", err), srv.Shutdown(context.Background()))
	case <-ctx.Done():
	}

	// Stop accepting, let handlers finish, close the sockets, flush the store.
	logger.Info("chat server shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := errors.Join(srv.Shutdown(shutdownCtx), <-served); err != nil {
		return err
	}
	logger.Info("chat server stopped")
	return nil
}
