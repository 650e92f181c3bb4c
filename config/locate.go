package config

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parseNode returns the root mapping of the YAML document in data, or nil
// (not YAML, empty, or not a mapping: viper reports those itself).
func parseNode(data []byte) *yaml.Node {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	return doc.Content[0]
}

// addLines gives each problem of file whose field the file itself sets
// the line the YAML parser found it on: the line of the key, or of the
// closest enclosing key or list item the file has (a missing required key
// points at its parent). A field an environment variable or a flag
// overrides keeps no line: the file is not where its value came from.
func addLines(problems []error, root *yaml.Node, file string, src Source) {
	if root == nil {
		return
	}
	for _, p := range problems {
		var fe *FieldError
		if !errors.As(p, &fe) || fe.File != file || fe.Line != 0 || overridden(fe.Field, src) {
			continue
		}
		fe.Line = lineOf(root, fe.Field)
	}
}

// lineOf returns the line of field ("routes[0].match.path",
// "services[orders].url") in the document under root, or of its closest
// ancestor below the root; 0 when the file has none of it.
func lineOf(root *yaml.Node, field string) int {
	n, line := root, 0
	for _, seg := range fieldPath(field) {
		next, at := child(n, seg)
		if next == nil {
			break
		}
		n, line = next, at
	}
	return line
}

// fieldPath splits a field into its keys and indices:
// "routes[0].match" is routes, 0, match.
func fieldPath(field string) []string {
	var out []string
	for field != "" {
		switch field[0] {
		case '.':
			field = field[1:]
		case '[':
			end := strings.IndexByte(field, ']')
			if end < 0 {
				return append(out, field[1:])
			}
			out, field = append(out, field[1:end]), field[end+1:]
		default:
			end := strings.IndexAny(field, ".[")
			if end < 0 {
				end = len(field)
			}
			out, field = append(out, field[:end]), field[end:]
		}
	}
	return out
}

// child returns the value under key seg of a mapping (matched ignoring
// case, as viper does) or item seg of a list, and the line it starts on.
func child(n *yaml.Node, seg string) (*yaml.Node, int) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.EqualFold(n.Content[i].Value, seg) {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i], n.Content[i].Line
		}
	}
	return nil, 0
}

// overridden reports whether src sets field's key from the environment or
// a command-line flag.
func overridden(field string, src Source) bool {
	key, _, _ := strings.Cut(field, "[")
	if src.Env {
		env := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		if os.Getenv(env) != "" || (key == "state.etcd.endpoints" && os.Getenv(EnvStateEtcdEndpoints) != "") {
			return true
		}
	}
	if src.Flags == nil {
		return false
	}
	for flag, k := range FlagKeys {
		if f := src.Flags.Lookup(flag); k == key && f != nil && f.Changed {
			return true
		}
	}
	return false
}
