package admin

import (
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/stranglerfig/strangler/config"
)

// ConfigView renders cfg for people: keys as in the file, durations as
// "30s", and passwords in upstream URLs redacted.
func ConfigView(cfg *config.Config) any {
	if cfg == nil {
		return nil
	}
	return view(reflect.ValueOf(*cfg))
}

var durationType = reflect.TypeOf(time.Duration(0))

func view(v reflect.Value) any {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return view(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		structView(v, out)
		return out
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = view(v.Index(i))
		}
		return out
	case reflect.Map:
		out := map[string]any{}
		for _, k := range v.MapKeys() {
			out[k.String()] = view(v.MapIndex(k))
		}
		return out
	}
	return v.Interface()
}

// structView adds a struct's fields under their json names; embedded
// structs are flattened as encoding/json does.
func structView(v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			structView(v.Field(i), out)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" { // encoding/json leaves it out too
			continue
		}
		if name == "" {
			name = f.Name
		}
		val := view(v.Field(i))
		if name == "url" {
			if s, ok := val.(string); ok {
				val = redactURL(s)
			}
		}
		out[name] = val
	}
}

// redactURL hides the password of a URL with user info.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
