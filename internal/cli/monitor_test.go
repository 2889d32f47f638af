package cli

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMonitorBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "targets")
	if err := os.WriteFile(bad, []byte("udp://127.0.0.1:9000\nftp://127.0.0.1/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no target", []string{"monitor"}, ExitUsage, "no target"},
		{"bad target", []string{"monitor", "udp://127.0.0.1"}, ExitUsage, "want udp://host:port"},
		{"bad file", []string{"monitor", "--targets", bad}, ExitUsage, "line 2"},
		{"missing file", []string{"monitor", "--targets", filepath.Join(dir, "nope")}, ExitUsage, "no such file"},
		{"interval", []string{"monitor", "--interval", "0s", "udp://127.0.0.1:9000"}, ExitUsage, "must be positive"},
		{"address in use", []string{"monitor", "--metrics", busy.Addr().String(), "udp://127.0.0.1:9000"}, ExitFailure, "address already in use"},
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
