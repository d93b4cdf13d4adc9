package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/iohub/iohub/config"
	"github.com/iohub/iohub/server"
)

// runServe is `iohub serve` and bare `iohub`: load the configuration, then serve until the
// command's context ends (SIGTERM or SIGINT).
func runServe(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd.Flags())
	if err != nil {
		return err
	}
	randomSecret := cfg.EnsureDevSecret()
	logger, err := newLogger(cfg.Log, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	logger.Info("starting", "version", version, "store", cfg.Store.Driver, "cluster", cfg.Redis.URL != "",
		"namespaces", cfg.Namespaces, "namespace_pattern", cfg.NamespacePattern)
	if cfg.Dev {
		warnDevMode(logger, randomSecret)
	}
	stopGC, floored := startGCFloor(uint64(cfg.Runtime.GCFloorMiB) << 20)
	defer stopGC()
	if !floored && cfg.Runtime.GCFloorMiB > 0 {
		logger.Info("GOGC is set: runtime.gc_floor_mib is not used")
	}
	return asRuntime(serve(cmd.Context(), cfg, logger))
}

// newLogger builds the process logger on w from log.level and log.format.
func newLogger(c config.Log, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// warnDevMode says loudly what dev mode gives away.
func warnDevMode(logger *slog.Logger, randomSecret bool) {
	secret := "configured auth.jwt.secret"
	if randomSecret {
		secret = "random for this run: get tokens from GET /dev/token?sub=&name="
	}
	logger.Warn("DEV MODE, NOT FOR PRODUCTION: any CORS origin is allowed and GET /dev/token mints tokens for anyone",
		"secret", secret)
}

// serve runs one node on cfg.Listen until ctx ends, then shuts it down gracefully within
// cfg.ShutdownTimeout. It returns nil after a graceful stop.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv, err := server.New(cfg, logger)
	if err != nil {
		return fmt.Errorf("starting server: %w", errors.Join(err, ln.Close()))
	}
	if cfg.Debug.PprofListen != "" {
		stop, err := servePprof(cfg.Debug.PprofListen, logger)
		if err != nil {
			return errors.Join(err, ln.Close(), srv.Shutdown(context.WithoutCancel(ctx)))
		}
		defer stop()
	}
	logListening(logger, ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		if err == nil {
			err = errors.New("no error given")
		}
		return fmt.Errorf("server stopped before shutdown: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	serveErr := <-served
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	if serveErr != nil {
		return fmt.Errorf("serve: %w", serveErr)
	}
	logger.Info("stopped")
	return nil
}

// logListening logs the address actually listened on. Scripts and tests start iohub with
// --listen 127.0.0.1:0 and read the port from this line, so its form is a contract: an INFO
// record with msg "listening" and attribute "addr" ("host:port"), i.e. with the default
// log.format json the line
//
//	{"time":"…","level":"INFO","msg":"listening","addr":"127.0.0.1:41234"}
//
// and with log.format text: time=… level=INFO msg=listening addr=127.0.0.1:41234.
func logListening(logger *slog.Logger, addr net.Addr) {
	logger.Info("listening", "addr", addr.String())
}

// servePprof serves net/http/pprof's handlers on their own listener at addr, so profiles
// are never reachable through the public address. The returned stop closes the listener
// and waits for the serving goroutine to end.
func servePprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug.pprof_listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln) // ends with the listener
	}()
	logger.Warn("serving profiles; keep this address private", "pprof", ln.Addr().String())
	return func() { _ = hs.Close(); <-done }, nil
}
