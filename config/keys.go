package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// key is one leaf of Config: its dotted name (the config key, the flag name and, upper-cased
// with dots as underscores after IOHUB_, the environment variable), its default and its help.
type key struct {
	name  string
	def   reflect.Value
	usage string
}

var durationType = reflect.TypeFor[time.Duration]()

// keys lists every config key in declaration order, with its default taken from Default().
// The store.driver default is driverAuto: Load resolves it once redis.url is known.
func keys() []key {
	var out []key
	collectKeys(reflect.ValueOf(Default()), "", &out)
	for i := range out {
		if out[i].name == keyStoreDriver {
			out[i].def = reflect.ValueOf(driverAuto)
		}
	}
	return out
}

// collectKeys appends the leaves of the struct v to out, prefixing their names with prefix.
func collectKeys(v reflect.Value, prefix string, out *[]key) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := prefix + f.Tag.Get("mapstructure")
		if f.Type.Kind() == reflect.Struct {
			collectKeys(v.Field(i), name+".", out)
			continue
		}
		*out = append(*out, key{name: name, def: v.Field(i), usage: f.Tag.Get("usage")})
	}
}

// AddFlags defines one flag per config key on fs, named like the key (--listen,
// --auth.jwt.secret, --limits.max_message_length, ...), typed like its field and defaulting to
// Default(). Lists are comma-separated. Load reads back the flags fs holds under those names.
func AddFlags(fs *pflag.FlagSet) error {
	for _, k := range keys() {
		if err := addFlag(fs, k); err != nil {
			return err
		}
	}
	return nil
}

// addFlag defines the flag of one key.
func addFlag(fs *pflag.FlagSet, k key) error {
	if k.def.Type() == durationType {
		fs.Duration(k.name, time.Duration(k.def.Int()), k.usage)
		return nil
	}
	switch k.def.Kind() {
	case reflect.String:
		fs.String(k.name, k.def.String(), k.usage)
	case reflect.Bool:
		fs.Bool(k.name, k.def.Bool(), k.usage)
	case reflect.Int:
		fs.Int(k.name, int(k.def.Int()), k.usage)
	case reflect.Int64:
		fs.Int64(k.name, k.def.Int(), k.usage)
	case reflect.Float64:
		fs.Float64(k.name, k.def.Float(), k.usage)
	default:
		list, ok := k.def.Interface().([]string)
		if !ok {
			return fmt.Errorf("config: no flag type for key %s of type %s", k.name, k.def.Type())
		}
		fs.StringSlice(k.name, list, k.usage)
	}
	return nil
}

// isSection reports whether name is a prefix of some key (like "auth" or "auth.jwt").
func isSection(name string, ks []key) bool {
	for _, k := range ks {
		if strings.HasPrefix(k.name, name+".") {
			return true
		}
	}
	return false
}
