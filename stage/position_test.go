package stage

import (
	"encoding/json"
	"testing"
)

var (
	legacy   = Position{Stage: "legacy"}
	shadow   = Position{Stage: "shadow"}
	migrated = Position{Stage: "migrated"}
)

func canary(pct float64) Position { return Position{Stage: "canary", Percent: pct} }

func TestPositionJSON(t *testing.T) {
	b, err := json.Marshal(canary(25))
	if err != nil || string(b) != `{"stage":"canary","percent":25}` {
		t.Errorf("json.Marshal(canary 25) = %s, %v", b, err)
	}
	var p Position
	if err := json.Unmarshal([]byte(`{"stage":"shadow","percent":0}`), &p); err != nil || p != shadow {
		t.Errorf("json.Unmarshal = %+v, %v; want shadow", p, err)
	}
}

func TestAt(t *testing.T) {
	tests := []struct {
		name    string
		percent float64
		want    Position
	}{
		{"canary", 30, canary(30)},
		{"shadow", 30, shadow},
		{"migrated", 100, migrated},
		{"legacy", 0, legacy},
	}
	for _, tt := range tests {
		if got := At(tt.name, tt.percent); got != tt.want {
			t.Errorf("At(%q, %v) = %+v, want %+v", tt.name, tt.percent, got, tt.want)
		}
	}
}

func TestBefore(t *testing.T) {
	order := []Position{{Stage: "bogus"}, legacy, shadow, canary(0), canary(5), canary(99.5), migrated}
	for i, p := range order {
		for j, q := range order {
			if got := p.Before(q); got != (i < j) {
				t.Errorf("%v.Before(%v) = %v, want %v", p, q, got, i < j)
			}
		}
	}
}

func TestPositionString(t *testing.T) {
	tests := []struct {
		p    Position
		want string
	}{
		{legacy, "legacy"}, {shadow, "shadow"}, {canary(25), "canary 25"},
		{canary(2.5), "canary 2.5"}, {migrated, "migrated"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestParseStep(t *testing.T) {
	tests := []struct {
		step    string
		want    Position
		wantErr string
	}{
		{"shadow", shadow, ""},
		{"migrated", migrated, ""},
		{"canary 5", canary(5), ""},
		{"canary 12.5%", canary(12.5), ""},
		{"  canary   50 ", canary(50), ""},
		{"canary 0", Position{}, `step "canary 0": canary percent must be a number above 0 and below 100`},
		{"canary 100", Position{}, `step "canary 100": canary percent must be a number above 0 and below 100`},
		{"canary x", Position{}, `step "canary x": canary percent must be a number above 0 and below 100`},
		{"legacy", Position{}, `step "legacy": want shadow, canary N or migrated`},
		{"canary", Position{}, `step "canary": want shadow, canary N or migrated`},
		{"shadow 5", Position{}, `step "shadow 5": want shadow, canary N or migrated`},
		{"", Position{}, `step "": want shadow, canary N or migrated`},
	}
	for _, tt := range tests {
		got, err := ParseStep(tt.step)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseStep(%q) error %v, want %q", tt.step, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseStep(%q) = %+v, %v; want %+v", tt.step, got, err, tt.want)
		}
	}
}

func TestStepsAndNext(t *testing.T) {
	plan := Steps([]string{"shadow", "canary 5", "bogus", "canary 50", "migrated"})
	want := []Position{shadow, canary(5), canary(50), migrated}
	if len(plan) != len(want) {
		t.Fatalf("Steps = %v, want %v (the bogus step left out)", plan, want)
	}
	for i := range want {
		if plan[i] != want[i] {
			t.Fatalf("Steps = %v, want %v", plan, want)
		}
	}
	tests := []struct {
		cur    Position
		want   Position
		wantOK bool
	}{
		{legacy, shadow, true},
		{shadow, canary(5), true},
		{canary(5), canary(50), true},
		{canary(20), canary(50), true},
		{canary(50), migrated, true},
		{migrated, Position{}, false},
	}
	for _, tt := range tests {
		got, ok := Next(tt.cur, plan)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Next(%v) = %v, %v; want %v, %v", tt.cur, got, ok, tt.want, tt.wantOK)
		}
	}
	if _, ok := Next(legacy, nil); ok {
		t.Error("Next with an empty plan found a step")
	}
}
