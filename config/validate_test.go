package config

import (
	"testing"
	"time"
)

// valid returns Default() with the one thing it lacks to pass Validate: a secret.
func valid() Config {
	c := Default()
	c.Auth.JWT.Secret = "s"
	return c
}

func TestValidateAccepts(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Config)
	}{
		{"defaults with a secret", func(*Config) {}},
		{"dev mode without a key", func(c *Config) { c.Dev = true; c.Auth.JWT.Secret = "" }},
		{"public key file only", func(c *Config) { c.Auth.JWT = JWT{PublicKeyFile: "k.pem", Algorithms: []string{"ES256"}} }},
		{"jwks url only", func(c *Config) {
			c.Auth.JWT = JWT{JWKSURL: "https://id.example/jwks.json", Algorithms: []string{"RS256", "PS512"}}
		}},
		{"HS algorithm in dev without secret", func(c *Config) { c.Dev = true; c.Auth.JWT = JWT{Algorithms: []string{"HS256"}} }},
		{"redis cluster", func(c *Config) { c.Redis.URL = "rediss://:pw@r:6380/1"; c.Store.Driver = "redis" }},
		{"memory store", func(c *Config) { c.Store.Driver = "memory"; c.Store.Path = "" }},
		{"pattern only", func(c *Config) { c.Namespaces = nil; c.NamespacePattern = "^/tenant-[a-z0-9-]+$" }},
		{"origins", func(c *Config) { c.CORS.Origins = []string{"*", "https://a.example", "http://localhost:5173"} }},
		{"history 0 and 200", func(c *Config) { c.History.DefaultLimit = 200; c.Presence.RoomUsersInterval = 0 }},
		{"text debug logs", func(c *Config) { c.Log = Log{Level: "debug", Format: "text"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{"no key source", func(c *Config) { c.Auth.JWT.Secret = "" },
			"auth.jwt.secret is required unless dev mode is on (or set auth.jwt.public_key_file or auth.jwt.jwks_url)"},
		{"listen without port", func(c *Config) { c.Listen = "localhost" },
			`listen: must be host:port like ":3000", got "localhost"`},
		{"zero shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 },
			"shutdown_timeout: must be greater than 0, got 0s"},
		{"no namespaces", func(c *Config) { c.Namespaces = nil },
			"namespaces: must not be empty unless namespace_pattern is set"},
		{"namespace without slash", func(c *Config) { c.Namespaces = []string{"/", "chat"} },
			`namespaces: "chat" must start with "/"`},
		{"duplicate namespace", func(c *Config) { c.Namespaces = []string{"/", "/chat", "/"} },
			`namespaces: "/" is listed twice`},
		{"bad namespace pattern", func(c *Config) { c.NamespacePattern = "^/t-(" },
			"namespace_pattern: invalid regular expression: error parsing regexp: missing closing ): `^/t-(`"},
		{"origin with path", func(c *Config) { c.CORS.Origins = []string{"https://a.example/"} },
			`cors.origins: "https://a.example/" is not an origin like "https://chat.example.com"`},
		{"origin without scheme", func(c *Config) { c.CORS.Origins = []string{"a.example"} },
			`cors.origins: "a.example" is not an origin like "https://chat.example.com"`},
		{"zero ping interval", func(c *Config) { c.SocketIO.PingInterval = 0 },
			"socketio.ping_interval: must be greater than 0, got 0s"},
		{"negative ping timeout", func(c *Config) { c.SocketIO.PingTimeout = -time.Second },
			"socketio.ping_timeout: must be greater than 0, got -1s"},
		{"zero buffer", func(c *Config) { c.SocketIO.MaxHTTPBufferSize = 0 },
			"socketio.max_http_buffer_size: must be at least 1, got 0"},
		{"jwks not http", func(c *Config) { c.Auth.JWT.JWKSURL = "file:///etc/jwks.json" },
			`auth.jwt.jwks_url: must be an http or https URL, got "file:///etc/jwks.json"`},
		{"alg none", func(c *Config) { c.Auth.JWT.Algorithms = []string{"none"} },
			`auth.jwt.algorithms: "none" is not supported, want HS, RS, PS or ES with 256, 384 or 512`},
		{"alg unknown size", func(c *Config) { c.Auth.JWT.Algorithms = []string{"HS128"} },
			`auth.jwt.algorithms: "HS128" is not supported, want HS, RS, PS or ES with 256, 384 or 512`},
		{"HS without secret", func(c *Config) { c.Auth.JWT = JWT{JWKSURL: "https://id.example/jwks", Algorithms: []string{"HS256"}} },
			"auth.jwt.algorithms: HS256 needs auth.jwt.secret"},
		{"RS without public key", func(c *Config) { c.Auth.JWT.Algorithms = []string{"HS256", "RS256"} },
			"auth.jwt.algorithms: RS256 needs auth.jwt.public_key_file or auth.jwt.jwks_url"},
		{"negative leeway", func(c *Config) { c.Auth.JWT.Leeway = -time.Second },
			"auth.jwt.leeway: must not be negative, got -1s"},
		{"bad room policy", func(c *Config) { c.Rooms.DefaultPolicy = "x" },
			`rooms.default_policy: must be "open" or "closed", got "x"`},
		{"zero message length", func(c *Config) { c.Limits.MaxMessageLength = 0 },
			"limits.max_message_length: must be at least 1, got 0"},
		{"zero rate", func(c *Config) { c.Limits.MessagesPerSecond = 0 },
			"limits.messages_per_second: must be greater than 0, got 0"},
		{"zero burst", func(c *Config) { c.Limits.MessageBurst = 0 },
			"limits.message_burst: must be at least 1, got 0"},
		{"zero rooms per socket", func(c *Config) { c.Limits.MaxRoomsPerSocket = 0 },
			"limits.max_rooms_per_socket: must be at least 1, got 0"},
		{"negative connections per ip", func(c *Config) { c.Limits.MaxConnectionsPerIP = -1 },
			"limits.max_connections_per_ip: must be at least 0, got -1"},
		{"history over 200", func(c *Config) { c.History.DefaultLimit = 201 },
			"history.default_limit: must be between 0 and 200, got 201"},
		{"negative history", func(c *Config) { c.History.DefaultLimit = -1 },
			"history.default_limit: must be between 0 and 200, got -1"},
		{"negative room_users interval", func(c *Config) { c.Presence.RoomUsersInterval = -time.Millisecond },
			"presence.room_users_interval: must not be negative, got -1ms"},
		{"zero listed users", func(c *Config) { c.Presence.MaxListedUsers = 0 },
			"presence.max_listed_users: must be at least 1, got 0"},
		{"bad store driver", func(c *Config) { c.Store.Driver = "sqlite" },
			`store.driver: must be "bolt", "redis" or "memory", got "sqlite"`},
		{"redis driver without url", func(c *Config) { c.Store.Driver = "redis" },
			"store.driver=redis needs redis.url"},
		{"bolt without path", func(c *Config) { c.Store.Path = "" },
			"store.path: required when store.driver is bolt"},
		{"redis url scheme, password not echoed", func(c *Config) { c.Redis.URL = "http://:hunter2@r:6379" },
			"redis.url: must be a redis://, rediss:// or unix:// URL"},
		{"blank api key", func(c *Config) { c.API.Keys = []string{"k", " "} },
			"api.keys: must not contain an empty key"},
		{"bad log level", func(c *Config) { c.Log.Level = "verbose" },
			`log.level: must be "debug", "info", "warn" or "error", got "verbose"`},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" },
			`log.format: must be "json" or "text", got "xml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.Validate()
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Validate error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestEnsureDevSecret(t *testing.T) {
	cases := []struct {
		name          string
		change        func(*Config)
		wantGenerated bool
	}{
		{"dev without key", func(c *Config) { c.Dev = true }, true},
		{"dev with secret", func(c *Config) { c.Dev = true; c.Auth.JWT.Secret = "mine" }, false},
		{"dev with jwks", func(c *Config) { c.Dev = true; c.Auth.JWT.JWKSURL = "https://id.example/jwks" }, false},
		{"not dev", func(*Config) {}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.change(&c)
			before := c.Auth.JWT.Secret
			generated := c.EnsureDevSecret()
			if generated != tc.wantGenerated {
				t.Fatalf("EnsureDevSecret = %v, want %v", generated, tc.wantGenerated)
			}
			switch {
			case generated && len(c.Auth.JWT.Secret) < 32:
				t.Errorf("generated secret %q is too short", c.Auth.JWT.Secret)
			case !generated && c.Auth.JWT.Secret != before:
				t.Errorf("secret changed from %q to %q", before, c.Auth.JWT.Secret)
			}
		})
	}
}

func TestEnsureDevSecretIsRandom(t *testing.T) {
	a, b := Default(), Default()
	a.Dev, b.Dev = true, true
	a.EnsureDevSecret()
	b.EnsureDevSecret()
	if a.Auth.JWT.Secret == b.Auth.JWT.Secret {
		t.Fatalf("two generated secrets are equal: %q", a.Auth.JWT.Secret)
	}
}
