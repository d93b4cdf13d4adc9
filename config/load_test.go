package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// loadCase is one Load scenario: its sources, and either the expected change to Default()
// or a substring of the expected error.
type loadCase struct {
	name     string
	fileName string // base name of the config file written from file; "" for no file
	file     string
	env      map[string]string
	args     []string // command-line flags, parsed by a FlagSet from AddFlags plus --config
	want     func(*Config)
	wantErr  string
}

const yamlFile = `
listen: "127.0.0.1:4000"
dev: true
namespaces: ["/", "/support"]
socketio:
  ping_interval: 5s
auth:
  jwt:
    secret: from-file
    leeway: 1m
limits:
  max_message_length: 100
api:
  keys: [k1, k2]
`

const jsonFile = `{
  "listen": "127.0.0.1:4000",
  "dev": true,
  "namespaces": ["/", "/support"],
  "socketio": {"ping_interval": "5s"},
  "auth": {"jwt": {"secret": "from-file", "leeway": "1m"}},
  "limits": {"max_message_length": 100},
  "api": {"keys": ["k1", "k2"]}
}`

const tomlFile = `
listen = "127.0.0.1:4000"
dev = true
namespaces = ["/", "/support"]
[socketio]
ping_interval = "5s"
[auth.jwt]
secret = "from-file"
leeway = "1m"
[limits]
max_message_length = 100
[api]
keys = ["k1", "k2"]
`

// fromFile is what yamlFile, jsonFile and tomlFile all say.
func fromFile(c *Config) {
	c.Listen = "127.0.0.1:4000"
	c.Dev = true
	c.Namespaces = []string{"/", "/support"}
	c.SocketIO.PingInterval = 5 * time.Second
	c.Auth.JWT.Secret = "from-file"
	c.Auth.JWT.Leeway = time.Minute
	c.Limits.MaxMessageLength = 100
	c.API.Keys = []string{"k1", "k2"}
}

var loadCases = []loadCase{
	{name: "defaults", want: func(*Config) {}},
	{name: "yaml file", fileName: "iohub.yaml", file: yamlFile, want: fromFile},
	{name: "yml file", fileName: "iohub.yml", file: yamlFile, want: fromFile},
	{name: "json file", fileName: "iohub.json", file: jsonFile, want: fromFile},
	{name: "toml file", fileName: "iohub.toml", file: tomlFile, want: fromFile},
	{
		name: "env overrides every kind of key",
		env: map[string]string{
			"IOHUB_LISTEN":                        ":9000",
			"IOHUB_DEV":                           "true",
			"IOHUB_AUTH_JWT_SECRET":               "s3cret",
			"IOHUB_LIMITS_MAX_MESSAGE_LENGTH":     "10",
			"IOHUB_LIMITS_MESSAGES_PER_SECOND":    "2.5",
			"IOHUB_SOCKETIO_MAX_HTTP_BUFFER_SIZE": "2048",
			"IOHUB_PRESENCE_ROOM_USERS_INTERVAL":  "250ms",
			"IOHUB_NAMESPACE_PATTERN":             "^/t-[a-z]+$",
			"IOHUB_SOCKETIO_ALLOW_EIO3":           "false",
		},
		want: func(c *Config) {
			c.Listen = ":9000"
			c.Dev = true
			c.Auth.JWT.Secret = "s3cret"
			c.Limits.MaxMessageLength = 10
			c.Limits.MessagesPerSecond = 2.5
			c.SocketIO.MaxHTTPBufferSize = 2048
			c.Presence.RoomUsersInterval = 250 * time.Millisecond
			c.NamespacePattern = "^/t-[a-z]+$"
			c.SocketIO.AllowEIO3 = false
		},
	},
	{
		name: "list env vars are comma-separated",
		env: map[string]string{
			"IOHUB_API_KEYS":            "a, b,,c",
			"IOHUB_NAMESPACES":          "/,/chat,/x",
			"IOHUB_CORS_ORIGINS":        "https://a.example,http://localhost:5173",
			"IOHUB_AUTH_JWT_ALGORITHMS": "HS256,RS256",
		},
		want: func(c *Config) {
			c.API.Keys = []string{"a", "b", "c"}
			c.Namespaces = []string{"/", "/chat", "/x"}
			c.CORS.Origins = []string{"https://a.example", "http://localhost:5173"}
			c.Auth.JWT.Algorithms = []string{"HS256", "RS256"}
		},
	},
	{
		name: "flags override",
		args: []string{
			"--listen", "127.0.0.1:0", "--dev", "--auth.jwt.secret", "f", "--api.keys", "x,y",
			"--socketio.ping_timeout", "3s", "--limits.messages_per_second", "1.5",
			"--socketio.max_http_buffer_size", "99", "--config", "ignored-when-not-passed-to-load",
		},
		want: func(c *Config) {
			c.Listen = "127.0.0.1:0"
			c.Dev = true
			c.Auth.JWT.Secret = "f"
			c.API.Keys = []string{"x", "y"}
			c.SocketIO.PingTimeout = 3 * time.Second
			c.Limits.MessagesPerSecond = 1.5
			c.SocketIO.MaxHTTPBufferSize = 99
		},
	},
	{
		name:     "precedence: flag over env over file over default",
		fileName: "p.yaml",
		file:     "listen: ':1'\nlog: {level: debug, format: text}\nhistory: {default_limit: 7}\n",
		env:      map[string]string{"IOHUB_LISTEN": ":2", "IOHUB_LOG_LEVEL": "warn"},
		args:     []string{"--listen", ":3"},
		want: func(c *Config) {
			c.Listen = ":3"
			c.Log.Level = "warn"
			c.Log.Format = "text"
			c.History.DefaultLimit = 7
		},
	},
	{
		name: "unset flag does not hide env",
		env:  map[string]string{"IOHUB_LISTEN": ":2"},
		args: []string{"--dev"},
		want: func(c *Config) { c.Listen = ":2"; c.Dev = true },
	},
	{
		name: "store.driver is redis when redis.url is set",
		env:  map[string]string{"IOHUB_REDIS_URL": "redis://localhost:6379/0"},
		want: func(c *Config) { c.Redis.URL = "redis://localhost:6379/0"; c.Store.Driver = "redis" },
	},
	{
		name:     "explicit store.driver wins over redis.url",
		fileName: "d.yaml",
		file:     "store: {driver: bolt}\nredis: {url: 'redis://r:6379'}\n",
		want:     func(c *Config) { c.Redis.URL = "redis://r:6379"; c.Store.Driver = "bolt" },
	},
	{
		name: "store.driver flag",
		args: []string{"--store.driver", "memory", "--redis.url", "redis://r"},
		want: func(c *Config) { c.Redis.URL = "redis://r"; c.Store.Driver = "memory" },
	},
	{
		name:     "unknown key in a section is refused by name",
		fileName: "u.yaml",
		file:     "limits:\n  max_msg_len: 3\n",
		wantErr:  `unknown key "limits.max_msg_len"`,
	},
	{
		name:     "unknown top-level keys are all named",
		fileName: "u.json",
		file:     `{"lisen": ":1", "zzz": {"a": 1}}`,
		wantErr:  `unknown keys "lisen", "zzz.a"`,
	},
	{
		name:     "wrong type names the key",
		fileName: "t.yaml",
		file:     "limits: {max_message_length: lots}\n",
		wantErr:  "limits.max_message_length: ",
	},
	{
		name:     "scalar for a section names the section",
		fileName: "s.yaml",
		file:     "auth: 5\n",
		wantErr:  "auth: expected a map",
	},
	{
		name:     "duration without unit is refused",
		fileName: "n.toml",
		file:     "[socketio]\nping_interval = 25\n",
		wantErr:  `socketio.ping_interval: a duration needs a unit, like "25s", got 25`,
	},
	{
		name:    "bad duration in env names the key",
		env:     map[string]string{"IOHUB_SHUTDOWN_TIMEOUT": "soon"},
		wantErr: "shutdown_timeout: ",
	},
	{
		name:     "unsupported extension",
		fileName: "iohub.ini",
		file:     "listen=:1\n",
		wantErr:  `unsupported extension ".ini"`,
	},
	{
		name:     "malformed file",
		fileName: "bad.json",
		file:     `{"listen": `,
		wantErr:  "bad.json",
	},
}

func TestLoad(t *testing.T) {
	for _, tc := range loadCases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			fs.String("config", "", "config file")
			if err := AddFlags(fs); err != nil {
				t.Fatalf("AddFlags: %v", err)
			}
			if err := fs.Parse(tc.args); err != nil {
				t.Fatalf("parse %v: %v", tc.args, err)
			}
			got, err := Load(fs, writeFile(t, tc.fileName, tc.file))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("Load error spans lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Default()
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := Load(nil, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Load(missing) error = %v, want one naming %s", err, missing)
	}
}

func TestAddFlagsCoversEveryKey(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	if err := AddFlags(fs); err != nil {
		t.Fatalf("AddFlags: %v", err)
	}
	for _, k := range keys() {
		f := fs.Lookup(k.name)
		if f == nil {
			t.Errorf("no flag --%s", k.name)
			continue
		}
		if f.Usage == "" {
			t.Errorf("flag --%s has no usage text", k.name)
		}
	}
}

// writeFile writes content to a file named name in a fresh directory and returns its path,
// or returns "" when name is empty.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	if name == "" {
		return ""
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// TestExampleConfig keeps examples/config/iohub.yaml complete and true: it names every key,
// and the values it shows are the defaults.
func TestExampleConfig(t *testing.T) {
	const example = "../examples/config/iohub.yaml"
	fileOnly := viper.New()
	fileOnly.SetConfigFile(example)
	if err := fileOnly.ReadInConfig(); err != nil {
		t.Fatalf("read %s: %v", example, err)
	}
	for _, k := range keys() {
		if !fileOnly.InConfig(k.name) {
			t.Errorf("%s does not show key %s", example, k.name)
		}
	}
	t.Setenv("IOHUB_AUTH_JWT_SECRET", "s")
	got, err := Load(nil, example)
	if err != nil {
		t.Fatalf("Load(%s): %v", example, err)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Default()
	want.Auth.JWT.Secret = "s"
	want.CORS.Origins, want.Auth.JWT.Algorithms, want.API.Keys = []string{}, []string{}, []string{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s does not show the defaults:\n got %+v\nwant %+v", example, got, want)
	}
}
