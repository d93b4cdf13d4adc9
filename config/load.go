package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

const (
	// envPrefix starts every environment variable: key auth.jwt.secret is IOHUB_AUTH_JWT_SECRET.
	envPrefix = "IOHUB"
	// keyStoreDriver is the one key whose default depends on another key.
	keyStoreDriver = "store.driver"
	// driverAuto is the store.driver value meaning "not set anywhere": Load replaces it with
	// redis when redis.url is set, else bolt.
	driverAuto = ""
)

// fileTypes are the config file extensions Load reads, without the dot.
var fileTypes = []string{"yaml", "yml", "json", "toml"}

// Load builds the configuration from these sources, each overriding the ones before it:
//
//  1. Default();
//  2. file, when not empty: YAML (.yaml, .yml), JSON (.json) or TOML (.toml), by extension;
//  3. environment variables IOHUB_<KEY>, the key upper-cased with dots as underscores
//     (IOHUB_AUTH_JWT_SECRET, IOHUB_LIMITS_MAX_MESSAGE_LENGTH); a list is comma-separated
//     (IOHUB_API_KEYS=a,b);
//  4. the flags of flags (may be nil) that are named like a key (see AddFlags) and were set
//     on the command line. Other flags, such as --config, are ignored.
//
// Durations are written with a unit ("25s"). A key in the file that iohub does not know is
// refused, and so is a value of the wrong type; the error names the key. When store.driver is
// set nowhere it is redis if redis.url is set, else bolt.
//
// Load does not validate: call Validate next and, before serving, EnsureDevSecret.
func Load(flags *pflag.FlagSet, file string) (Config, error) {
	ks := keys()
	v := viper.New()
	v.SetEnvPrefix(envPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for _, k := range ks {
		v.SetDefault(k.name, k.def.Interface())
	}
	if file != "" {
		if err := readFile(v, file, ks); err != nil {
			return Config{}, err
		}
	}
	if err := bindFlags(v, flags, ks); err != nil {
		return Config{}, err
	}
	var cfg Config
	if err := v.UnmarshalExact(&cfg, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(durationHook, listHook))); err != nil {
		return Config{}, decodeError(err)
	}
	if cfg.Store.Driver == driverAuto {
		cfg.Store.Driver = autoDriver(cfg.Redis.URL)
	}
	return cfg, nil
}

// readFile merges the config file into v and refuses keys that are not in ks.
func readFile(v *viper.Viper, file string, ks []key) error {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(file), "."))
	if !slices.Contains(fileTypes, ext) {
		return fmt.Errorf("config file %s: unsupported extension %q, want .yaml, .yml, .json or .toml", file, filepath.Ext(file))
	}
	v.SetConfigFile(file)
	v.SetConfigType(ext)
	if err := v.ReadInConfig(); err != nil {
		return fmt.Errorf("config file %s: %w", file, err)
	}
	switch unknown := unknownKeys(v.AllKeys(), ks); len(unknown) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("config file %s: unknown key %s", file, unknown[0])
	default:
		return fmt.Errorf("config file %s: unknown keys %s", file, strings.Join(unknown, ", "))
	}
}

// unknownKeys returns, sorted and quoted, the names in all that are neither a key of ks nor a
// section holding keys (a section given a scalar is left to the decoder to refuse).
func unknownKeys(all []string, ks []key) []string {
	var unknown []string
	for _, name := range all {
		known := slices.ContainsFunc(ks, func(k key) bool { return k.name == name })
		if !known && !isSection(name, ks) {
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
	}
	slices.Sort(unknown)
	return unknown
}

// bindFlags makes the flags of fs named like a key override that key.
func bindFlags(v *viper.Viper, fs *pflag.FlagSet, ks []key) error {
	if fs == nil {
		return nil
	}
	for _, k := range ks {
		f := fs.Lookup(k.name)
		if f == nil {
			continue
		}
		if err := v.BindPFlag(k.name, f); err != nil {
			return fmt.Errorf("config: binding flag --%s: %w", k.name, err)
		}
	}
	return nil
}

// durationHook decodes strings like "25s" into time.Duration and refuses bare numbers, which
// would otherwise silently mean nanoseconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from == durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.String:
		return time.ParseDuration(reflect.ValueOf(data).String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return nil, fmt.Errorf("a duration needs a unit, like \"25s\", got %v", data)
	default:
		return data, nil
	}
}

// listHook decodes a comma-separated string (an environment variable) into a list, trimming
// spaces around items and dropping empty ones.
func listHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeFor[[]string]() {
		return data, nil
	}
	var list []string
	for item := range strings.SplitSeq(reflect.ValueOf(data).String(), ",") {
		if item = strings.TrimSpace(item); item != "" {
			list = append(list, item)
		}
	}
	return list, nil
}

// decodeError turns a decoding error into one line naming the key, like
// "limits.max_message_length: cannot parse value as 'int': ...".
func decodeError(err error) error {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) && de.Name() != "" {
		return fmt.Errorf("%s: %w", de.Name(), de.Unwrap())
	}
	return fmt.Errorf("config: %w", err)
}

// autoDriver is the store driver when none is set: redis in cluster mode, else bolt.
func autoDriver(redisURL string) string {
	if redisURL != "" {
		return "redis"
	}
	return "bolt"
}
