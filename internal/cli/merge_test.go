package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStartAt(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr string
	}{
		{"", time.Time{}, ""},
		{"2026-12-02T12:00:30Z", now.Add(30 * time.Second), ""},
		{"2026-12-02T13:00:30+01:00", now.Add(30 * time.Second), ""},
		{"1796212830", now.Add(30 * time.Second), ""},
		{"1796212830.25", now.Add(30*time.Second + 250*time.Millisecond), ""},
		{"2026-12-01T12:00:00Z", now.Add(-24 * time.Hour), ""}, // past: starts at once
		{"2026-12-04T12:00:00Z", time.Time{}, "more than a day away"},
		{"noon", time.Time{}, "want RFC 3339"},
		{"-5", time.Time{}, "want RFC 3339"},
		{"NaN", time.Time{}, "want RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseStartAt(tt.in, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := write("old.json", `{"target":"http://127.0.0.1/","protocol":"http","requests":3,"latency":{"n":3}}`)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no files", []string{"merge"}, ExitUsage, "requires at least 1 arg"},
		{"missing", []string{"merge", filepath.Join(dir, "nope.json")}, ExitFailure, "no such file"},
		{"not json", []string{"merge", write("x.json", "hello")}, ExitFailure, "not a socklab load --json document"},
		{"no histogram", []string{"merge", old}, ExitFailure, "has no latency_histogram_ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.msg) || strings.Contains(errb.String(), "goroutine") {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, errb.String(), tt.code, tt.msg)
			}
		})
	}
}
