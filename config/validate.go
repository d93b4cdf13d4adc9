package config

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Accepted values of the enumerated keys.
var (
	roomPolicies = []string{"open", "closed"}
	storeDrivers = []string{"bolt", "redis", "memory"}
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"json", "text"}
	redisSchemes = []string{"redis", "rediss", "unix"}
	// jwtAlgorithms are the token algorithms package auth verifies; "none" is never one.
	jwtAlgorithms = []string{
		"HS256", "HS384", "HS512",
		"RS256", "RS384", "RS512",
		"PS256", "PS384", "PS512",
		"ES256", "ES384", "ES512",
	}
)

// maxGCFloorMiB bounds runtime.gc_floor_mib (1 TiB).
const maxGCFloorMiB = 1 << 20

// maxHistoryLimit is the largest history a join_room may ask for (PROTOCOL.md).
const maxHistoryLimit = 200

// Validate reports the first problem of c as one error naming its key, like
// "limits.max_message_length: must be at least 1, got 0". A configuration that passes
// Validate (after EnsureDevSecret, in dev mode) is what server.New expects.
func (c Config) Validate() error {
	return firstError(
		c.validateListen(),
		c.validateNamespaces(),
		c.CORS.validate(),
		c.SocketIO.validate(),
		c.Auth.JWT.validate(c.Dev),
		oneOf("rooms.default_policy", c.Rooms.DefaultPolicy, roomPolicies),
		c.Limits.validate(),
		between("history.default_limit", c.History.DefaultLimit, 0, maxHistoryLimit),
		c.Presence.validate(),
		c.validateStore(),
		c.Redis.validate(),
		c.API.validate(),
		c.Log.validate(),
		between("runtime.gc_floor_mib", c.Runtime.GCFloorMiB, 0, maxGCFloorMiB),
		c.Debug.validate(),
	)
}

// EnsureDevSecret gives a dev-mode configuration that has no key source (auth.jwt.secret,
// auth.jwt.public_key_file or auth.jwt.jwks_url) a random 256-bit HS256 secret from
// crypto/rand, and reports whether it did: tokens then come from GET /dev/token only, since
// nobody else knows the secret. Outside dev mode, or with a key source, it changes nothing.
func (c *Config) EnsureDevSecret() bool {
	if !c.Dev || c.Auth.JWT.hasKeySource() {
		return false
	}
	// Each rand.Text carries 128 random bits; crypto/rand never fails since Go 1.24.
	c.Auth.JWT.Secret = rand.Text() + rand.Text()
	return true
}

// validateListen checks the HTTP address.
func (c Config) validateListen() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: must be host:port like \":3000\", got %q", c.Listen)
	}
	return positive("shutdown_timeout", c.ShutdownTimeout)
}

// validateNamespaces checks the static namespaces and the dynamic pattern.
func (c Config) validateNamespaces() error {
	if len(c.Namespaces) == 0 && c.NamespacePattern == "" {
		return errors.New("namespaces: must not be empty unless namespace_pattern is set")
	}
	for i, ns := range c.Namespaces {
		if !strings.HasPrefix(ns, "/") {
			return fmt.Errorf("namespaces: %q must start with \"/\"", ns)
		}
		if slices.Contains(c.Namespaces[:i], ns) {
			return fmt.Errorf("namespaces: %q is listed twice", ns)
		}
	}
	if c.NamespacePattern == "" {
		return nil
	}
	if _, err := regexp.Compile(c.NamespacePattern); err != nil {
		return fmt.Errorf("namespace_pattern: invalid regular expression: %w", err)
	}
	return nil
}

// validate checks that every origin is "*" or scheme://host[:port].
func (c CORS) validate() error {
	for _, origin := range c.Origins {
		if origin == "*" {
			continue
		}
		u, err := url.Parse(origin)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("cors.origins: %q is not an origin like \"https://chat.example.com\"", origin)
		}
	}
	return nil
}

// validate checks the Engine.IO settings.
func (s SocketIO) validate() error {
	return firstError(
		positive("socketio.ping_interval", s.PingInterval),
		positive("socketio.ping_timeout", s.PingTimeout),
		atLeast("socketio.max_http_buffer_size", s.MaxHTTPBufferSize, 1),
	)
}

// hasKeySource reports whether some way of verifying tokens is configured.
func (j JWT) hasKeySource() bool {
	return j.Secret != "" || j.PublicKeyFile != "" || j.JWKSURL != ""
}

// validate checks the token settings; dev mode needs no key source (see EnsureDevSecret).
func (j JWT) validate(dev bool) error {
	if !dev && !j.hasKeySource() {
		return errors.New("auth.jwt.secret is required unless dev mode is on (or set auth.jwt.public_key_file or auth.jwt.jwks_url)")
	}
	if j.JWKSURL != "" {
		u, err := url.Parse(j.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("auth.jwt.jwks_url: must be an http or https URL, got %q", j.JWKSURL)
		}
	}
	for _, alg := range j.Algorithms {
		if err := j.validateAlgorithm(alg, dev); err != nil {
			return err
		}
	}
	return notNegative("auth.jwt.leeway", j.Leeway)
}

// validateAlgorithm checks that alg is supported and that its key is configured.
func (j JWT) validateAlgorithm(alg string, dev bool) error {
	switch {
	case !slices.Contains(jwtAlgorithms, alg):
		return fmt.Errorf("auth.jwt.algorithms: %q is not supported, want HS, RS, PS or ES with 256, 384 or 512", alg)
	case strings.HasPrefix(alg, "HS"):
		if j.Secret == "" && !dev {
			return fmt.Errorf("auth.jwt.algorithms: %s needs auth.jwt.secret", alg)
		}
	case j.PublicKeyFile == "" && j.JWKSURL == "":
		return fmt.Errorf("auth.jwt.algorithms: %s needs auth.jwt.public_key_file or auth.jwt.jwks_url", alg)
	}
	return nil
}

// validate checks the per-user and per-socket limits.
func (l Limits) validate() error {
	return firstError(
		atLeast("limits.max_message_length", l.MaxMessageLength, 1),
		positive("limits.messages_per_second", l.MessagesPerSecond),
		atLeast("limits.message_burst", l.MessageBurst, 1),
		atLeast("limits.max_rooms_per_socket", l.MaxRoomsPerSocket, 1),
		atLeast("limits.max_connections_per_ip", l.MaxConnectionsPerIP, 0),
	)
}

// validate checks room_users coalescing and the list cap.
func (p Presence) validate() error {
	return firstError(
		notNegative("presence.room_users_interval", p.RoomUsersInterval),
		atLeast("presence.max_listed_users", p.MaxListedUsers, 1),
	)
}

// validateStore checks the driver and what it needs.
func (c Config) validateStore() error {
	if err := oneOf("store.driver", c.Store.Driver, storeDrivers); err != nil {
		return err
	}
	switch {
	case c.Store.Driver == "redis" && c.Redis.URL == "":
		return errors.New("store.driver=redis needs redis.url")
	case c.Store.Driver == "bolt" && c.Store.Path == "":
		return errors.New("store.path: required when store.driver is bolt")
	default:
		return nil
	}
}

// validate checks the Redis URL without ever echoing it: it may hold a password.
func (r Redis) validate() error {
	if r.URL == "" {
		return nil
	}
	u, err := url.Parse(r.URL)
	if err != nil || !slices.Contains(redisSchemes, u.Scheme) {
		return errors.New("redis.url: must be a redis://, rediss:// or unix:// URL")
	}
	return nil
}

// validate refuses blank API keys, which would let an empty bearer in.
func (a API) validate() error {
	for _, k := range a.Keys {
		if strings.TrimSpace(k) == "" {
			return errors.New("api.keys: must not contain an empty key")
		}
	}
	return nil
}

// validate checks the log settings.
func (l Log) validate() error {
	return firstError(
		oneOf("log.level", l.Level, logLevels),
		oneOf("log.format", l.Format, logFormats),
	)
}

// validate checks that a pprof address, when set, is host:port.
func (d Debug) validate() error {
	if d.PprofListen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(d.PprofListen); err != nil {
		return fmt.Errorf("debug.pprof_listen: must be host:port like \"127.0.0.1:6060\", got %q", d.PprofListen)
	}
	return nil
}

// firstError returns the first non-nil error of errs.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// oneOf requires got to be one of allowed.
func oneOf(key, got string, allowed []string) error {
	if slices.Contains(allowed, got) {
		return nil
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	last := len(quoted) - 1
	return fmt.Errorf("%s: must be %s or %s, got %q", key, strings.Join(quoted[:last], ", "), quoted[last], got)
}

// atLeast requires got >= limit.
func atLeast[T cmp.Ordered](key string, got, limit T) error {
	if got < limit {
		return fmt.Errorf("%s: must be at least %v, got %v", key, limit, got)
	}
	return nil
}

// between requires lo <= got <= hi.
func between(key string, got, lo, hi int) error {
	if got < lo || got > hi {
		return fmt.Errorf("%s: must be between %d and %d, got %d", key, lo, hi, got)
	}
	return nil
}

// positive requires got > 0.
func positive[T float64 | time.Duration](key string, got T) error {
	if got <= 0 {
		return fmt.Errorf("%s: must be greater than 0, got %v", key, got)
	}
	return nil
}

// notNegative requires a duration >= 0.
func notNegative(key string, got time.Duration) error {
	if got < 0 {
		return fmt.Errorf("%s: must not be negative, got %v", key, got)
	}
	return nil
}
