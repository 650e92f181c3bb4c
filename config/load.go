package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the config file read into memory.
const MaxFileSize = 4 << 20

// EnvPrefix prefixes environment overrides: STRANGLER_LISTEN,
// STRANGLER_ADMIN_LISTEN, STRANGLER_LEGACY_URL, ...
const EnvPrefix = "STRANGLER"

// FlagKeys maps command-line flag names to the config keys they override.
// Flags override the environment, which overrides the file.
var FlagKeys = map[string]string{
	"listen":       "listen",
	"admin-listen": "admin.listen",
	"legacy-url":   "legacy.url",
	"log-level":    "log.level",
	"log-format":   "log.format",
}

// AddFlags registers the override flags of FlagKeys on fs.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("listen", "", "data-plane listen address (overrides the file's listen)")
	fs.String("admin-listen", "", "admin listen address (overrides admin.listen)")
	fs.String("legacy-url", "", "monolith URL (overrides legacy.url)")
	fs.String("log-level", "", "log level: trace, debug, info, warn, error")
	fs.String("log-format", "", "log format: json or console")
}

// Source tells Load where overrides come from. The zero value reads only
// the file.
type Source struct {
	// Flags, when set, supplies overrides for the flags named in FlagKeys
	// that were set on the command line.
	Flags *pflag.FlagSet
	// Env, when true, reads STRANGLER_* environment overrides.
	Env bool
}

// Load reads, decodes strictly and validates the config file at path. The
// error names the file and, for each problem, the field and the reason.
func Load(path string, src Source) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadData(data, path, src)
}

// LoadData is Load for content already read from path (by WatchContent,
// which hands over the bytes it found stable, so that a write begun since
// is not read half done).
func LoadData(data []byte, path string, src Source) (*Config, error) {
	cfg, err := Parse(data, path, src)
	if err != nil {
		return nil, err
	}
	cfg.StateFile = resolveStateFile(path, cfg.StateFile)
	sum := sha256.Sum256(data)
	cfg.FileSHA256 = hex.EncodeToString(sum[:])
	return cfg, nil
}

// resolveStateFile places the state file beside the config file unless
// it is given as an absolute path.
func resolveStateFile(configPath, stateFile string) string {
	if stateFile == "" {
		stateFile = DefaultStateFile
	}
	if filepath.IsAbs(stateFile) {
		return stateFile
	}
	return filepath.Join(filepath.Dir(configPath), stateFile)
}

// ReadFile reads a config file, refusing files over MaxFileSize.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if n > MaxFileSize {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", path, MaxFileSize)
	}
	return buf.Bytes(), nil
}

// Parse decodes and validates YAML config bytes; name is used in errors.
func Parse(data []byte, name string, src Source) (*Config, error) {
	if isBlank(data) {
		return nil, &FieldError{File: name, Field: "(file)", Reason: "file is empty"}
	}
	v, err := newViper(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, &FieldError{File: name, Field: "(file)", Reason: "not valid YAML: " + unwrapAll(err).Error()}
	}
	var cfg Config
	var problems []error
	if err := v.UnmarshalExact(&cfg, viper.DecodeHook(decodeHook())); err != nil {
		// Report the decode problems and still validate what decoded, so
		// that an unknown key does not hide every other problem. The
		// lenient decode ignores unknown keys; a field that failed to
		// decode keeps its zero value and is not reported twice.
		problems = Problems(decodeErrors(name, err))
		cfg = Config{}
		_ = v.Unmarshal(&cfg, viper.DecodeHook(decodeHook()))
	}
	cfg.SetDefaults()
	root := parseNode(data)
	// viper lower-cases map keys, so check service names as written.
	problems = append(problems, serviceNameProblems(root, name)...)
	if err := cfg.validate(name); err != nil {
		problems = append(problems, notCovered(Problems(err), problems)...)
	}
	addLines(problems, root, name, src)
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return &cfg, nil
}

// notCovered drops the validation problems on a field (or inside one)
// that already has a decode problem: its value did not decode, so what
// validation saw was a zero value, not what the file says.
func notCovered(validation, decode []error) []error {
	var out []error
	for _, p := range validation {
		var fe *FieldError
		if errors.As(p, &fe) && coveredBy(fe.Field, decode) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func coveredBy(field string, decode []error) bool {
	for _, d := range decode {
		var fe *FieldError
		if !errors.As(d, &fe) || fe.Reason == "unknown key" {
			continue
		}
		if field == fe.Field || strings.HasPrefix(field, fe.Field+".") || strings.HasPrefix(field, fe.Field+"[") {
			return true
		}
	}
	return false
}

// serviceNameProblems reports service names, as written in the file, that
// are not valid: viper lower-cases map keys before validate sees them.
func serviceNameProblems(root *yaml.Node, file string) []error {
	if root == nil {
		return nil // viper has already accepted the YAML; be lenient
	}
	var out []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "services" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		svcs := root.Content[i+1].Content
		for j := 0; j+1 < len(svcs); j += 2 {
			if n := svcs[j].Value; n != strings.ToLower(n) {
				out = append(out, &FieldError{File: file, Field: "services." + n,
					Reason: "service name must be lower case letters, digits, '-' or '_' (at most 64)"})
			}
		}
	}
	return out
}

func newViper(src Source) (*viper.Viper, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	setViperDefaults(v)
	if src.Env {
		v.SetEnvPrefix(EnvPrefix)
		v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
		v.AutomaticEnv()
		envEndpoints(v)
	}
	if src.Flags != nil {
		for flag, key := range FlagKeys {
			f := src.Flags.Lookup(flag)
			if f == nil {
				continue
			}
			if err := v.BindPFlag(key, f); err != nil {
				return nil, fmt.Errorf("binding flag --%s: %w", flag, err)
			}
		}
	}
	return v, nil
}

// envEndpoints applies STRANGLER_STATE_ETCD_ENDPOINTS, a comma-separated
// list (viper would hand the list field a single string).
func envEndpoints(v *viper.Viper) {
	raw := os.Getenv(EnvStateEtcdEndpoints)
	if raw == "" {
		return
	}
	var eps []string
	for _, ep := range strings.Split(raw, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	v.Set("state.etcd.endpoints", eps)
}

func decodeHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(
		durationHook(),
		byteSizeHook(),
		wholeNumberHook(),
	)
}

// wholeNumberHook refuses, for integer fields, numbers that are not whole
// (256.9 would be cut to 256) or that do not fit the field (1e20 would
// wrap to -9223372036854775808, -1 to 4294967295), naming the value as
// written.
func wholeNumberHook() mapstructure.DecodeHookFuncType {
	return func(from, to reflect.Type, data any) (any, error) {
		lo, hi, ok := intRange(to.Kind())
		if !ok {
			return data, nil
		}
		v := reflect.ValueOf(data)
		switch {
		case v.CanFloat():
			f := v.Float()
			if f != math.Trunc(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s is not a whole number", strconv.FormatFloat(f, 'g', -1, 64))
			}
			if f < float64(lo) || f >= float64(hi)+1 { // hi+1 is a power of two: exact
				return nil, outOfRange(strconv.FormatFloat(f, 'g', -1, 64), lo, hi)
			}
		case v.CanInt():
			if i := v.Int(); i < lo || (i > 0 && uint64(i) > hi) {
				return nil, outOfRange(strconv.FormatInt(i, 10), lo, hi)
			}
		case v.CanUint():
			if u := v.Uint(); u > hi {
				return nil, outOfRange(strconv.FormatUint(u, 10), lo, hi)
			}
		}
		return data, nil
	}
}

// intRange returns the values an integer kind holds.
func intRange(k reflect.Kind) (lo int64, hi uint64, ok bool) {
	switch k {
	case reflect.Int, reflect.Int64:
		return math.MinInt64, math.MaxInt64, true
	case reflect.Int32:
		return math.MinInt32, math.MaxInt32, true
	case reflect.Int16:
		return math.MinInt16, math.MaxInt16, true
	case reflect.Int8:
		return math.MinInt8, math.MaxInt8, true
	case reflect.Uint, reflect.Uint64:
		return 0, math.MaxUint64, true
	case reflect.Uint32:
		return 0, math.MaxUint32, true
	case reflect.Uint16:
		return 0, math.MaxUint16, true
	case reflect.Uint8:
		return 0, math.MaxUint8, true
	}
	return 0, 0, false
}

func outOfRange(value string, lo int64, hi uint64) error {
	return fmt.Errorf("%s is out of range: want a whole number from %d to %d", value, lo, hi)
}

// durationHook decodes "30s"-style strings into time.Duration, naming the
// bad value in its error, and refuses bare non-zero numbers, which would
// silently mean nanoseconds.
func durationHook() mapstructure.DecodeHookFuncType {
	durType := reflect.TypeOf(time.Duration(0))
	return func(from, to reflect.Type, data any) (any, error) {
		if to != durType || from == durType {
			return data, nil
		}
		switch from.Kind() {
		case reflect.String:
			d, err := time.ParseDuration(strings.TrimSpace(data.(string)))
			if err != nil {
				return nil, fmt.Errorf("invalid duration %q: want a number with a unit, such as 500ms, 30s or 2m", data)
			}
			return d, nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			if !reflect.ValueOf(data).IsZero() {
				return nil, fmt.Errorf("invalid duration %v: a duration needs a unit, such as 30s", data)
			}
		}
		return data, nil
	}
}

// decodeErrors turns mapstructure's joined errors into FieldErrors.
func decodeErrors(file string, err error) error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		// Only a direct DecodeError: errors.As would stop at the first one
		// inside a wrapper and drop the others.
		if de, ok := e.(*mapstructure.DecodeError); ok {
			inner := de.Unwrap()
			if _, nested := inner.(interface{ Unwrap() []error }); nested {
				walk(inner)
				return
			}
			field := de.Name()
			if strings.HasPrefix(field, "config.") {
				// mapstructure >= 2.5 names the unnamed root by its Go
				// type ("config.Config") where it used to say nothing.
				field = ""
			}
			if keys, ok := strings.CutPrefix(inner.Error(), "has invalid keys: "); ok {
				for _, k := range strings.Split(keys, ", ") {
					if field != "" {
						k = field + "." + k
					}
					out = append(out, &FieldError{File: file, Field: k, Reason: "unknown key"})
				}
				return
			}
			if field == "" {
				field = "(file)"
			}
			out = append(out, &FieldError{File: file, Field: field, Reason: inner.Error()})
			return
		}
		if inner := errors.Unwrap(e); inner != nil {
			walk(inner)
			return
		}
		out = append(out, &FieldError{File: file, Field: "(file)", Reason: e.Error()})
	}
	walk(err)
	return errors.Join(out...)
}

func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

func isBlank(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			return false
		}
	}
	return true
}
