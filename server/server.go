// Package server mounts iohub on HTTP: Socket.IO at /socket.io/, the HTTP API under /api/v1,
// health, readiness and metrics. It installs no signal handlers: the caller decides when to
// Shutdown, so the server can be embedded.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/iohub/iohub/adapters"
	"github.com/iohub/iohub/auth"
	"github.com/iohub/iohub/config"
	"github.com/iohub/iohub/server/chat"
	"github.com/iohub/iohub/server/internal/sio"
	"github.com/iohub/iohub/server/internal/sioparser"
	"github.com/iohub/iohub/server/internal/transport"
)

// errDraining answers new handshakes and /readyz once Shutdown has begun.
var errDraining = errors.New("server is shutting down")

// Server is one iohub node.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	ctx      context.Context // lives until Shutdown; owns background work
	cancel   context.CancelFunc
	verifier *auth.Verifier
	backends *adapters.Backends
	metrics  *metrics
	io       *socket.Server
	// transports is the engine's websocket transport; its poller of idle connections
	// stops at Shutdown.
	transports transport.Builder
	hub        *sio.Hub
	svc        *chat.Service
	pattern    *regexp.Regexp
	apiKeys    []string
	handler    http.Handler
	http       *http.Server
	ipLimit    *ipLimit // nil when unlimited
	draining   atomic.Bool
}

// New builds a server from a validated configuration: it opens the store and, in cluster
// mode, connects to Redis.
func New(cfg config.Config, logger *slog.Logger) (*Server, error) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, log: logger, ctx: ctx, cancel: cancel, metrics: newMetrics(), apiKeys: cfg.API.Keys}
	if err := s.build(); err != nil {
		cancel()
		if s.backends != nil {
			_ = s.backends.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) build() error {
	jwt := s.cfg.Auth.JWT
	verifier, err := auth.NewVerifier(s.ctx, auth.Options{
		Secret: jwt.Secret, PublicKeyFile: jwt.PublicKeyFile, JWKSURL: jwt.JWKSURL,
		Algorithms: jwt.Algorithms, Issuer: jwt.Issuer, Audience: jwt.Audience, Leeway: jwt.Leeway,
	})
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	s.verifier = verifier
	if s.cfg.NamespacePattern != "" {
		if s.pattern, err = regexp.Compile(s.cfg.NamespacePattern); err != nil {
			return fmt.Errorf("namespace_pattern: %w", err)
		}
	}
	if s.backends, err = adapters.Open(s.ctx, s.cfg, s.metrics.registry, s.log); err != nil {
		return err
	}
	if max := s.cfg.Limits.MaxConnectionsPerIP; max > 0 {
		s.ipLimit = newIPLimit(max)
	}
	s.io = socket.NewServer(nil, s.socketOptions())
	s.hub = sio.New(s.io, sio.Options{
		Namespaces: s.cfg.Namespaces, Pattern: s.pattern,
		Auth: s.authenticate, AuthCode: auth.Code, Observer: s.metrics, Logger: s.log,
	})
	// Asynchronous appends broadcast from the store's goroutine, one message after another:
	// the cluster adapter would make each of those wait for a publish to Redis.
	store := newTimedStore(s.backends.Store, s.metrics.storeTime, s.backends.Adapter == nil)
	s.svc = chat.NewService(store, s.backends.Presence, s.hub, s.chatOptions())
	if s.backends.OnUserGone != nil {
		s.backends.OnUserGone(s.svc.UserGone)
	}
	if s.backends.OnUserBack != nil {
		s.backends.OnUserBack(s.svc.UserBack)
	}
	s.hub.Mount(s.svc)
	s.handler = s.routes()
	if s.ipLimit != nil {
		_ = s.io.Engine().On("connection", s.ipLimit.track)
	}
	return nil
}

func (s *Server) chatOptions() chat.Options {
	l := s.cfg.Limits
	return chat.Options{
		MaxMessageLength: l.MaxMessageLength, MessagesPerSecond: l.MessagesPerSecond, MessageBurst: l.MessageBurst,
		MaxRoomsPerSocket: l.MaxRoomsPerSocket, DefaultHistoryLimit: s.cfg.History.DefaultLimit,
		RoomUsersInterval: s.cfg.Presence.RoomUsersInterval, MaxListedUsers: s.cfg.Presence.MaxListedUsers,
		Logger: s.log,
	}
}

func (s *Server) socketOptions() *socket.ServerOptions {
	o := socket.DefaultServerOptions()
	o.SetServeClient(false)
	o.SetAllowEIO3(s.cfg.SocketIO.AllowEIO3)
	o.SetPingInterval(s.cfg.SocketIO.PingInterval)
	o.SetPingTimeout(s.cfg.SocketIO.PingTimeout)
	o.SetMaxHttpBufferSize(s.cfg.SocketIO.MaxHTTPBufferSize)
	o.SetCors(s.cors())
	o.SetTransports(s.transports.Set())
	o.SetParser(sioparser.New()) // the library's packets, decoded and encoded in one pass
	if s.backends.Adapter != nil {
		o.SetAdapter(s.backends.Adapter)
	} else {
		o.SetAdapter(transport.AdapterBuilder{})
	}
	if s.ipLimit != nil {
		o.SetAllowRequest(s.ipLimit.allowRequest)
	}
	return o
}

// cors allows any origin in dev mode, else the configured list.
func (s *Server) cors() *types.Cors {
	if s.cfg.Dev {
		return &types.Cors{Origin: true, Credentials: true}
	}
	origins := make([]any, len(s.cfg.CORS.Origins))
	for i, o := range s.cfg.CORS.Origins {
		origins[i] = o
	}
	return &types.Cors{Origin: origins, Credentials: true}
}

// isNamespace reports whether name is one of the chat namespaces.
func (s *Server) isNamespace(name string) bool {
	return slices.Contains(s.cfg.Namespaces, name) || (s.pattern != nil && s.pattern.MatchString(name))
}

// authenticate finds the socket's token (auth payload, Authorization header, token query
// parameter — first found wins) and verifies it. The token leaves the socket's handshake:
// the library keeps the CONNECT auth payload for the socket's lifetime, and nothing reads
// the credential after this (a JWT is a few hundred bytes per connection).
func (s *Server) authenticate(sock *socket.Socket) (chat.Principal, error) {
	token, err := auth.ExtractToken(tokenSources(sock))
	dropToken(sock)
	if err != nil {
		return chat.Principal{}, err
	}
	id, err := s.verifier.Verify(token)
	if err != nil {
		return chat.Principal{}, err
	}
	policy := auth.Policy(s.cfg.Rooms.DefaultPolicy)
	return chat.Principal{
		User:    chat.User{UserID: id.UserID, UserName: id.UserName},
		CanJoin: func(room string) bool { return id.CanJoin(room, policy) },
	}, nil
}

// dropToken removes the token from the socket's auth payload. A payload left empty (the
// usual {token}) is replaced by a fresh empty map: a map emptied by delete keeps its
// storage, ~300 bytes per connection.
func dropToken(sock *socket.Socket) {
	hsAuth := sock.Auth()
	delete(hsAuth, "token")
	if hsAuth != nil && len(hsAuth) == 0 {
		sock.SetAuth(map[string]any{})
	}
}

// tokenSources collects the three token places of a connecting socket. Engine.IO 3 clients
// have no auth payload: the library hands their namespace query over as the auth map, with
// []string values, so it counts as query there.
func tokenSources(sock *socket.Socket) auth.TokenSources {
	req := sock.Request().Request()
	src := auth.TokenSources{Authorization: req.Header.Get("Authorization"), Query: tokenQuery(req.URL.RawQuery)}
	hsAuth := sock.Auth()
	if sock.Conn().Protocol() != 3 {
		src.Auth = hsAuth
		return src
	}
	if src.Query == nil {
		if values, ok := hsAuth["token"].([]string); ok {
			src.Query = values
		}
	}
	return src
}

// tokenQuery is the values of the "token" query parameter. It parses the query only when
// the raw query could hold that key, spelled out or percent-encoded: most clients send the
// token in the auth payload, and parsing every handshake's query into a map cost ~3 % of
// the CPU of a connection.
func tokenQuery(raw string) []string {
	if !strings.Contains(raw, "token") && !strings.Contains(raw, "%") {
		return nil
	}
	q, _ := url.ParseQuery(raw) // as URL.Query: the pairs that parse
	return q["token"]
}

// Handler is the whole HTTP surface of the node.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	sioHandler := transport.ReleaseOnHijack(s.io.ServeHandler(nil))
	mux.Handle("/socket.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() && r.URL.Query().Get("sid") == "" {
			http.Error(w, errDraining.Error(), http.StatusServiceUnavailable)
			return
		}
		sioHandler.ServeHTTP(w, r)
	}))
	s.mountAPI(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	if s.cfg.Dev {
		mux.HandleFunc("GET /dev/token", s.devToken)
	}
	return mux
}

// readyz answers 200 when every backend check passes, else 503 with the reasons.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	failed := map[string]string{}
	for name, check := range s.backends.Checks {
		if err := check(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	if s.draining.Load() {
		failed["server"] = errDraining.Error()
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
}

// devToken mints a token for ?sub=&name= (dev mode only).
func (s *Server) devToken(w http.ResponseWriter, r *http.Request) {
	// Dev mode allows any origin: pages served elsewhere (examples/web) fetch tokens here.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	sub := r.URL.Query().Get("sub")
	if sub == "" {
		writeError(w, chat.Errorf(chat.CodeBadRequest, "sub is required: /dev/token?sub=alice&name=Alice"))
		return
	}
	token, err := auth.Mint(s.cfg.Auth.JWT.Secret, auth.MintOptions{Subject: sub, Name: r.URL.Query().Get("name"), TTL: 24 * time.Hour})
	if err != nil {
		writeError(w, chat.Errorf(chat.CodeInternal, "minting token: %v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": token})
}

// Serve accepts connections on ln until Shutdown; it returns nil after a graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving http: %w", err)
	}
	return nil
}

// httpDrainGrace is how long HTTP requests may go on once every socket is closed: API calls
// finish in it; a long-poll the engine did not release is cut when it ends.
const httpDrainGrace = time.Second

// stopHTTP stops the HTTP server: requests in flight get httpDrainGrace (within ctx),
// then every connection left is closed.
func (s *Server) stopHTTP(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	grace, cancel := context.WithTimeout(ctx, httpDrainGrace)
	defer cancel()
	if err := s.http.Shutdown(grace); err != nil {
		s.log.Warn("closing HTTP connections still open after the drain", "err", err)
		if err := s.http.Close(); err != nil {
			return fmt.Errorf("closing http server: %w", err)
		}
	}
	return nil
}

// Shutdown stops accepting new connections, lets in-flight handlers finish, disconnects
// every socket so clients reconnect elsewhere, and flushes the store, giving up when ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	errs := []error{s.hub.Close(ctx), s.stopHTTP(ctx)}
	s.transports.Close()
	s.svc.Close()
	s.cancel()
	errs = append(errs, s.backends.Close())
	return errors.Join(errs...)
}
