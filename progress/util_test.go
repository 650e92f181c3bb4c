package progress

import "strings"

type testWriter struct{ s string }

func (w *testWriter) Write(p []byte) (int, error) { w.s += string(p); return len(p), nil }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
