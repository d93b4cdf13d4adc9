// Package redistest runs throwaway redis-server processes for tests:
//
//	srv := redistest.Start(t)          // stopped by t.Cleanup
//	client := srv.Client(t)            // closed by t.Cleanup
//	srv.Restart(t)                     // same port, empty data
//	srv := redistest.Start(t, redistest.AppendOnly) // data survives Restart (AOF, fsync always)
//
// Each server listens on a free 127.0.0.1 port, keeps nothing on disk unless AppendOnly
// (no RDB, no AOF) and runs in its own t.TempDir(). redis-server must be on PATH.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a redis-server may take to answer PING.
const startTimeout = 10 * time.Second

// Option changes how Start runs the server.
type Option func(*Server)

// AppendOnly keeps the data in an append-only file synced on every write, so it survives
// Stop and Restart, as a production Redis with appendonly yes would.
func AppendOnly(s *Server) { s.aof = true }

// Server is one redis-server process.
type Server struct {
	// Addr is host:port of the server.
	Addr string

	aof  bool
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited
}

// Start runs a redis-server on a free port and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redistest: redis-server not installed (scripts/install-deps.sh installs it): %v", err)
	}
	s := &Server{dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	var err error
	for range 3 { // a free port can be taken by someone else before redis binds it
		var port int
		if port, err = freePort(); err != nil {
			continue
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URL is the redis:// URL of the server (the form of config key redis.url).
func (s *Server) URL() string { return "redis://" + s.Addr }

// Client returns a go-redis client of the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop kills the server (as a crash would) and waits for it to exit. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// Restart stops the server (if it still runs) and starts it again on the same port:
// empty, or with its data under AppendOnly.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
}

// start runs redis-server on s.Addr and waits until it answers PING.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	aof := []string{"--appendonly", "no"}
	if s.aof {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--loglevel", "warning"}, aof...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exit := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exit)
	}()
	if err := waitReady(s.Addr, exit); err != nil {
		_ = cmd.Process.Kill()
		<-exit
		return err
	}
	s.mu.Lock()
	s.cmd, s.exit = cmd, exit
	s.mu.Unlock()
	return nil
}

// waitReady polls PING until the server answers, exits, or startTimeout passes.
func waitReady(addr string, exit <-chan struct{}) error {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-exit:
			return errors.New("redis-server exited during start (port taken?)")
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s not ready: %w", addr, err)
		case <-tick.C:
		}
	}
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
