package reliability

// AssumedKey is a config key a scenario sets that issue 12 asks for and
// that may not exist yet. When the binary's `validate` rejects a config
// with the assumed keys, the scenario runs without them and says so in
// its row (the row then measures today's behaviour, which usually fails).
type AssumedKey struct {
	Key, Value, Defect, Meaning string
}

// AssumedKeys is the one list of keys the suite assumes; the lead aligns
// them with the fixes as they land (docs/reliability.md repeats it).
var AssumedKeys = []AssumedKey{
	{"server.max_body_bytes", "1MiB", "3", "request bodies larger than this get 413, nothing sent upstream"},
	{"server.body_read_timeout", "1s", "3", "a request body that stalls this long gets 408 and its upstream request is abandoned"},
	{"legacy.max_in_flight", "5", "3", "bound on concurrent requests to one upstream (legacy and services); over it: 503"},
	{"routes[].match.case_insensitive", "true", "4", "the route's path matches regardless of letter case (IIS backends)"},
	{"routes[].match.allow", "[] (default: refuse all)", "4", "ambiguous path forms a route accepts: semicolon, backslash, nul, overlong_utf8, encoded_dot, encoded_slash, double_slash"},
}

// assumed returns the YAML value the suite uses for key.
func assumed(key string) string {
	for _, k := range AssumedKeys {
		if k.Key == key {
			return k.Value
		}
	}
	panic("reliability: unknown assumed key " + key)
}
