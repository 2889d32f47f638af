package flagx

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/errs"
)

func TestStartAt(t *testing.T) {
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
			got, err := StartAt(tt.in, now)
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

func TestHeader(t *testing.T) {
	h, err := Header([]string{"Accept: text/html", "X-A:1", "X-A: 2"})
	if err != nil || h.Get("Accept") != "text/html" || len(h.Values("X-A")) != 2 {
		t.Fatalf("%v %v", h, err)
	}
	for _, bad := range []string{"no colon", ": empty name", "two words: x"} {
		if _, err := Header([]string{bad}); !errors.Is(err, errs.ErrInvalidConfig) || !strings.Contains(err.Error(), "-H") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestData(t *testing.T) {
	if b, err := Data("a=1", strings.NewReader("")); err != nil || string(b) != "a=1" {
		t.Fatalf("literal: %q %v", b, err)
	}
	if b, err := Data("@-", strings.NewReader("from stdin")); err != nil || string(b) != "from stdin" {
		t.Fatalf("@-: %q %v", b, err)
	}
	if _, err := Data("@/nonexistent/file", strings.NewReader("")); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("@missing: %v", err)
	}
}
