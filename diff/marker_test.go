package diff

import (
	"net/http"
	"testing"
)

func TestMarkerEchoesAreNotCompared(t *testing.T) {
	jsonH := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		desc            string
		legacy, service string
		header          http.Header
		markers         []string
		want            Verdict
	}{
		{desc: "json headers object", header: jsonH,
			legacy:  `{"headers":{"Accept":"*/*"}}`,
			service: `{"headers":{"Accept":"*/*","X-Strangler-Shadow":"1","x-strangler-shadow-signature":"t=1,v1=ab"}}`,
			want:    VerdictEqual},
		{desc: "json raw dump string", header: jsonH,
			legacy:  `{"raw":"GET / HTTP/1.1\r\nAccept: */*\r\n"}`,
			service: `{"raw":"GET / HTTP/1.1\r\nAccept: */*\r\nX-Strangler-Shadow: 1\r\n"}`,
			want:    VerdictEqual},
		{desc: "json real difference still found", header: jsonH,
			legacy:  `{"headers":{"Accept":"*/*"}}`,
			service: `{"headers":{"Accept":"text/html","X-Strangler-Shadow":"1"}}`,
			want:    VerdictDifferent},
		{desc: "json name/value pairs", header: jsonH,
			legacy:  `[{"name":"Accept","value":"*/*"}]`,
			service: `[{"name":"Accept","value":"*/*"},{"name":"x-strangler-shadow","value":"1"}]`,
			want:    VerdictEqual},
		{desc: "json list of header lines", header: jsonH,
			legacy:  `{"h":["Accept: */*"]}`,
			service: `{"h":["X-Strangler-Shadow: 1","Accept: */*"]}`,
			want:    VerdictEqual},
		{desc: "a big object naming the marker is compared", header: jsonH,
			legacy:  `[{"a":1,"b":2,"c":3,"d":4}]`,
			service: `[{"a":1,"b":2,"c":3,"d":4},{"a":"X-Strangler-Shadow","b":2,"c":3,"d":4}]`,
			want:    VerdictDifferent},
		{desc: "json list of one-header objects", header: jsonH,
			legacy:  `[{"Accept":"*/*"}]`,
			service: `[{"Accept":"*/*"},{"X-Strangler-Shadow":"1"}]`,
			want:    VerdictEqual},
		{desc: "configured marker", header: jsonH, markers: []string{"X-Mirror"},
			legacy: `{"a":1}`, service: `{"a":1,"x-mirror":"yes"}`, want: VerdictEqual},
		{desc: "a key merely containing the name is compared", header: jsonH,
			legacy: `{"a":1}`, service: `{"a":1,"X-Strangler-Shadow-Count":2}`, want: VerdictDifferent},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			r, err := NewRules(RulesConfig{Markers: tt.markers})
			if err != nil {
				t.Fatal(err)
			}
			res := Compare(Response{Status: 200, Header: tt.header, Body: []byte(tt.legacy)},
				Response{Status: 200, Header: tt.header, Body: []byte(tt.service)}, r)
			if res.Verdict != tt.want {
				t.Errorf("verdict %s, want %s; differences %+v", res.Verdict, tt.want, res.Differences)
			}
		})
	}
}

func TestMarkerResponseHeaderIsNotCompared(t *testing.T) {
	res := Compare(Response{Status: 200, Header: http.Header{}},
		Response{Status: 200, Header: http.Header{"X-Strangler-Shadow": {"1"}}}, nil)
	if res.Verdict != VerdictEqual {
		t.Errorf("verdict %s, want equal: %+v", res.Verdict, res.Differences)
	}
}

func TestStripMarkerLines(t *testing.T) {
	r, _ := NewRules(RulesConfig{})
	tests := []struct{ in, want string }{
		{"a\nX-Strangler-Shadow: 1\nb", "a\nb"},
		{"a\n  x-strangler-shadow=1\nb\n", "a\nb\n"},
		{`  "X-Strangler-Shadow": "1",` + "\nz", "z"},
		{"X-Strangler-Shadow-Signature: t=1,v1=00\n", ""},
		{"says X-Strangler-Shadow: 1 inline", "says X-Strangler-Shadow: 1 inline"},
		{"no marker", "no marker"},
	}
	for _, tt := range tests {
		if got := r.stripMarkerLines(tt.in); got != tt.want {
			t.Errorf("stripMarkerLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
