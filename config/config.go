// Package config holds iohub's typed configuration: every key of PROTOCOL.md's
// "Running iohub" table, its default, loading from file / flags / IOHUB_* environment
// and validation with errors that name the key.
//
// A command uses it in four steps:
//
//	_ = config.AddFlags(fs)                  // --listen, --auth.jwt.secret, ... (one per key)
//	cfg, err := config.Load(fs, configFile)  // default < file < IOHUB_* env < flag
//	err = cfg.Validate()                     // "limits.max_message_length: must be at least 1, got 0"
//	generated := cfg.EnsureDevSecret()       // dev mode without a key: a random secret
//
// The struct tags are the single source of truth: mapstructure names the key, usage is the
// flag's help. config is the only iohub package that imports viper, and imports no other.
package config

import "time"

// Config is the whole iohub configuration. Field comments give the config key and default.
type Config struct {
	// Listen is the HTTP address (key listen, default ":3000").
	Listen string `mapstructure:"listen" usage:"HTTP address (Socket.IO, API, health, metrics)"`
	// Dev turns on dev mode (key dev, default false).
	Dev bool `mapstructure:"dev" usage:"dev mode: any CORS origin, GET /dev/token mints tokens, random secret when none is set"`
	// ShutdownTimeout bounds graceful shutdown (key shutdown_timeout, default 10s).
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" usage:"how long a graceful shutdown may take"`
	// Namespaces are the chat namespaces (key namespaces, default ["/", "/chat"]).
	Namespaces []string `mapstructure:"namespaces" usage:"chat namespaces (comma-separated)"`
	// NamespacePattern adds dynamic namespaces matching a regular expression (key namespace_pattern).
	NamespacePattern string `mapstructure:"namespace_pattern" usage:"regular expression adding dynamic chat namespaces"`

	CORS     CORS     `mapstructure:"cors"`
	SocketIO SocketIO `mapstructure:"socketio"`
	Auth     Auth     `mapstructure:"auth"`
	Rooms    Rooms    `mapstructure:"rooms"`
	Limits   Limits   `mapstructure:"limits"`
	History  History  `mapstructure:"history"`
	Presence Presence `mapstructure:"presence"`
	Store    Store    `mapstructure:"store"`
	Redis    Redis    `mapstructure:"redis"`
	API      API      `mapstructure:"api"`
	Log      Log      `mapstructure:"log"`
	Runtime  Runtime  `mapstructure:"runtime"`
	Debug    Debug    `mapstructure:"debug"`
}

// CORS configures browser origins.
type CORS struct {
	// Origins are the allowed browser origins (key cors.origins, default []). Dev mode allows any.
	Origins []string `mapstructure:"origins" usage:"allowed browser origins (comma-separated)"`
}

// SocketIO configures the Socket.IO engine.
type SocketIO struct {
	// AllowEIO3 accepts Engine.IO 3 clients (key socketio.allow_eio3, default true).
	AllowEIO3 bool `mapstructure:"allow_eio3" usage:"accept Engine.IO 3 (socket.io-client 2.x) clients"`
	// PingInterval (key socketio.ping_interval, default 25s).
	PingInterval time.Duration `mapstructure:"ping_interval" usage:"Engine.IO heartbeat interval"`
	// PingTimeout (key socketio.ping_timeout, default 20s).
	PingTimeout time.Duration `mapstructure:"ping_timeout" usage:"Engine.IO heartbeat timeout"`
	// MaxHTTPBufferSize is the largest packet in bytes (key socketio.max_http_buffer_size, default 1000000).
	MaxHTTPBufferSize int64 `mapstructure:"max_http_buffer_size" usage:"largest packet in bytes"`
}

// Auth configures token verification.
type Auth struct {
	JWT JWT `mapstructure:"jwt"`
}

// JWT configures accepted tokens.
type JWT struct {
	// Secret is the HS256 secret (key auth.jwt.secret).
	Secret string `mapstructure:"secret" usage:"HS256 secret"`
	// PublicKeyFile is a PEM RSA or EC public key (key auth.jwt.public_key_file).
	PublicKeyFile string `mapstructure:"public_key_file" usage:"PEM RSA or EC public key file for RS256/ES256 tokens"`
	// JWKSURL is a JWKS endpoint (key auth.jwt.jwks_url).
	JWKSURL string `mapstructure:"jwks_url" usage:"JWKS URL for RS256/ES256 tokens"`
	// Algorithms allowed; empty means derived from the configured keys (key auth.jwt.algorithms).
	Algorithms []string `mapstructure:"algorithms" usage:"accepted JWT algorithms (comma-separated; default: by configured keys)"`
	// Issuer, when set, must equal the iss claim (key auth.jwt.issuer).
	Issuer string `mapstructure:"issuer" usage:"required iss claim"`
	// Audience, when set, must be in the aud claim (key auth.jwt.audience).
	Audience string `mapstructure:"audience" usage:"required aud claim"`
	// Leeway for exp/nbf (key auth.jwt.leeway, default 30s).
	Leeway time.Duration `mapstructure:"leeway" usage:"clock leeway for exp and nbf"`
}

// Rooms configures room access.
type Rooms struct {
	// DefaultPolicy is "open" or "closed" for tokens without a rooms claim (key rooms.default_policy, default open).
	DefaultPolicy string `mapstructure:"default_policy" usage:"open or closed: rooms for tokens without a rooms claim"`
}

// Limits bounds what clients may do.
type Limits struct {
	// MaxMessageLength in code points (key limits.max_message_length, default 4000).
	MaxMessageLength int `mapstructure:"max_message_length" usage:"characters in a message content"`
	// MessagesPerSecond per user per node (key limits.messages_per_second, default 20).
	MessagesPerSecond float64 `mapstructure:"messages_per_second" usage:"per-user send rate"`
	// MessageBurst (key limits.message_burst, default 40).
	MessageBurst int `mapstructure:"message_burst" usage:"per-user send burst"`
	// MaxRoomsPerSocket (key limits.max_rooms_per_socket, default 100).
	MaxRoomsPerSocket int `mapstructure:"max_rooms_per_socket" usage:"rooms one socket may join"`
	// MaxConnectionsPerIP, 0 = unlimited (key limits.max_connections_per_ip, default 0).
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip" usage:"connections per client IP (0: unlimited)"`
}

// History configures join_room history.
type History struct {
	// DefaultLimit is the history size in join_room (key history.default_limit, default 50).
	DefaultLimit int `mapstructure:"default_limit" usage:"messages of history in join_room (0..200)"`
}

// Presence configures room_users.
type Presence struct {
	// RoomUsersInterval coalesces room_users per room (key presence.room_users_interval, default 1s).
	RoomUsersInterval time.Duration `mapstructure:"room_users_interval" usage:"room_users coalescing interval"`
	// MaxListedUsers caps every users list (key presence.max_listed_users, default 500).
	MaxListedUsers int `mapstructure:"max_listed_users" usage:"cap on every users list"`
}

// Store configures the message store.
type Store struct {
	// Driver is bolt, redis or memory (key store.driver, default bolt; redis when redis.url is set).
	Driver string `mapstructure:"driver" usage:"message store: bolt, redis or memory (default bolt; redis when redis.url is set)"`
	// Path is the bolt data directory (key store.path, default ./data).
	Path string `mapstructure:"path" usage:"bolt data directory"`
}

// Redis configures cluster mode.
type Redis struct {
	// URL turns on cluster mode (key redis.url).
	URL string `mapstructure:"url" usage:"Redis URL; turns on cluster mode"`
	// KeyPrefix prefixes every key and channel (key redis.key_prefix, default iohub).
	KeyPrefix string `mapstructure:"key_prefix" usage:"prefix of every Redis key and channel"`
	// Sharded uses Redis 7 sharded pub/sub (key redis.sharded, default false).
	Sharded bool `mapstructure:"sharded" usage:"use Redis 7 sharded pub/sub"`
}

// API configures the HTTP API.
type API struct {
	// Keys are the accepted bearer keys (key api.keys, default []; comma-separated in IOHUB_API_KEYS).
	Keys []string `mapstructure:"keys" usage:"HTTP API bearer keys (comma-separated)"`
}

// Log configures structured logs.
type Log struct {
	// Level is debug, info, warn or error (key log.level, default info).
	Level string `mapstructure:"level" usage:"log level: debug, info, warn or error"`
	// Format is json or text (key log.format, default json).
	Format string `mapstructure:"format" usage:"log format: json or text"`
}

// Runtime tunes the Go runtime of the iohub binary.
type Runtime struct {
	// GCFloorMiB is the heap size under which the garbage collector does not start a
	// collection (key runtime.gc_floor_mib, default 64; 0: Go's own floor of 4 MiB). A
	// small live heap then costs fewer collections; a large one keeps GOGC's headroom.
	// Ignored when the GOGC environment variable is set.
	GCFloorMiB int `mapstructure:"gc_floor_mib" usage:"heap MiB under which no garbage collection starts (0: Go's default; ignored when GOGC is set)"`
}

// Debug configures diagnostics that are off unless asked for.
type Debug struct {
	// PprofListen is the address of a separate HTTP listener serving net/http/pprof under
	// /debug/pprof/ (key debug.pprof_listen, default "": off). Profiles reveal internals:
	// bind it to loopback.
	PprofListen string `mapstructure:"pprof_listen" usage:"address serving /debug/pprof/ (e.g. 127.0.0.1:6060; empty: off)"`
}

// Default returns the configuration iohub runs with when nothing is configured.
func Default() Config {
	return Config{
		Listen:          ":3000",
		ShutdownTimeout: 10 * time.Second,
		Namespaces:      []string{"/", "/chat"},
		SocketIO: SocketIO{
			AllowEIO3:         true,
			PingInterval:      25 * time.Second,
			PingTimeout:       20 * time.Second,
			MaxHTTPBufferSize: 1_000_000,
		},
		Auth:     Auth{JWT: JWT{Leeway: 30 * time.Second}},
		Rooms:    Rooms{DefaultPolicy: "open"},
		Limits:   Limits{MaxMessageLength: 4000, MessagesPerSecond: 20, MessageBurst: 40, MaxRoomsPerSocket: 100},
		History:  History{DefaultLimit: 50},
		Presence: Presence{RoomUsersInterval: time.Second, MaxListedUsers: 500},
		Store:    Store{Driver: "bolt", Path: "./data"},
		Redis:    Redis{KeyPrefix: "iohub"},
		Log:      Log{Level: "info", Format: "json"},
		Runtime:  Runtime{GCFloorMiB: 64},
	}
}
