package demo

import (
	"bytes"
	"testing"
)

func TestIndentWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"one line", []string{"a\n"}, "> a\n"},
		{"two lines at once", []string{"a\nb\n"}, "> a\n> b\n"},
		{"line in pieces", []string{"a", "b", "c\n"}, "> abc\n"},
		{"blank line unprefixed", []string{"a\n\nb\n"}, "> a\n\n> b\n"},
		{"no final newline", []string{"a\nb"}, "> a\n> b"},
		{"empty write", []string{"", "a\n"}, "> a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w := &indentWriter{w: &b, prefix: "> "}
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}
