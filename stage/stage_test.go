package stage

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestStagesInRolloutOrder(t *testing.T) {
	want := []string{"legacy", "shadow", "canary", "migrated"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	for i, s := range All() {
		if s.String() != want[i] || int(s) != i {
			t.Errorf("All()[%d] = %d %q, want %d %q", i, s, s, i, want[i])
		}
	}
	if len(All()) != Count {
		t.Errorf("All() has %d stages, Count is %d", len(All()), Count)
	}
}

func TestStageWords(t *testing.T) {
	tests := []struct {
		s                  Stage
		name, title, descr string
	}{
		{Legacy, "legacy", "Legacy", "the monolith serves everything"},
		{Shadow, "shadow", "Shadow", "the monolith answers; the service gets a copy to compare"},
		{Canary, "canary", "Canary", "a share of users get the service"},
		{Migrated, "migrated", "Migrated", "the service serves everything"},
		{Stage(9), "stage(9)", "stage(9)", ""},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("Stage(%d).String() = %q, want %q", tt.s, got, tt.name)
		}
		if got := tt.s.Title(); got != tt.title {
			t.Errorf("Stage(%d).Title() = %q, want %q", tt.s, got, tt.title)
		}
		if got := tt.s.Description(); got != tt.descr {
			t.Errorf("Stage(%d).Description() = %q, want %q", tt.s, got, tt.descr)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		want    Stage
		wantErr string
	}{
		{"legacy", Legacy, ""},
		{"shadow", Shadow, ""},
		{"canary", Canary, ""},
		{"migrated", Migrated, ""},
		{"Canary", 0, `unknown stage "Canary": want legacy, shadow, canary or migrated`},
		{"", 0, `unknown stage "": want legacy, shadow, canary or migrated`},
		{"blue", 0, `unknown stage "blue": want legacy, shadow, canary or migrated`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.name)
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("Parse(%q) error %v, want %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
		if s, ok := Lookup(tt.name); ok != (tt.wantErr == "") || s != tt.want {
			t.Errorf("Lookup(%q) = %v, %v", tt.name, s, ok)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { Lookup("migrated"); Lookup("nope") }); n != 0 {
		t.Errorf("Lookup allocates %v times per call pair, want 0", n)
	}
}

func TestStageText(t *testing.T) {
	b, err := json.Marshal(map[string]Stage{"s": Canary})
	if err != nil || string(b) != `{"s":"canary"}` {
		t.Fatalf("json.Marshal = %s, %v; want {\"s\":\"canary\"}", b, err)
	}
	var m map[string]Stage
	if err := json.Unmarshal([]byte(`{"s":"shadow"}`), &m); err != nil || m["s"] != Shadow {
		t.Errorf("json.Unmarshal = %v, %v; want shadow", m, err)
	}
	if err := json.Unmarshal([]byte(`{"s":"blue"}`), &m); err == nil || !strings.Contains(err.Error(), `unknown stage "blue"`) {
		t.Errorf("json.Unmarshal of blue: %v, want unknown stage", err)
	}
	if _, err := Stage(7).MarshalText(); err == nil {
		t.Error("MarshalText of stage 7 succeeded")
	}
}
