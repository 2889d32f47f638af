package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes socklab with args in-process and returns exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		errWant string
	}{
		{"help", []string{"--help"}, ExitOK, ""},
		{"unknown flag", []string{"--no-such-flag"}, ExitUsage, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "unknown command"},
		{"bad log format", []string{"--log-format", "xml", "docs", t.TempDir()}, ExitUsage, "--log-format"},
		{"bad log level", []string{"--log-level", "loud", "docs", t.TempDir()}, ExitUsage, "--log-level"},
		{"docs needs dir", []string{"docs"}, ExitUsage, "accepts 1 arg"},
		{"ping needs a host", []string{"ping"}, ExitUsage, "Run 'socklab ping --help'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.errWant) {
				t.Fatalf("stderr %q does not mention %q", stderr, tt.errWant)
			}
			if tt.code == ExitUsage && !strings.Contains(stderr, "--help' for usage") {
				t.Fatalf("usage error without a --help hint: %q", stderr)
			}
			if strings.Contains(stderr, "goroutine ") {
				t.Fatalf("panic trace on stderr: %s", stderr)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	root := newRootCmd(&env{})
	for _, c := range root.Commands() {
		if c.Hidden {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			code, out, _ := run(t, "", c.Name(), "--help")
			if code != ExitOK || !strings.Contains(out, "Usage:") {
				t.Fatalf("%s --help: exit %d, output %q", c.Name(), code, out)
			}
			if c.Short == "" {
				t.Fatalf("%s has no short description", c.Name())
			}
		})
	}
}

// TestDocsUpToDate fails when a command's flags or help text changed without
// regenerating docs/cli (go generate ./cmd/socklab).
func TestDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, "", "docs", dir); code != ExitOK {
		t.Fatalf("docs: exit %d: %s", code, stderr)
	}
	committed := filepath.Join("..", "..", "docs", "cli")
	want, _ := filepath.Glob(filepath.Join(committed, "*.md"))
	got, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if len(want) != len(got) {
		t.Fatalf("docs/cli has %d pages, the commands make %d: run go generate ./cmd/socklab", len(want), len(got))
	}
	for _, g := range got {
		name := filepath.Base(g)
		a, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatalf("docs/cli/%s missing: run go generate ./cmd/socklab", name)
		}
		b, _ := os.ReadFile(g)
		if !bytes.Equal(a, b) {
			t.Errorf("docs/cli/%s is stale: run go generate ./cmd/socklab", name)
		}
	}
}
