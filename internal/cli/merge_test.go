package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
