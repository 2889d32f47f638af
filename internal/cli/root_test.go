package cli

import (
	"bytes"
	"context"
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
		{"bad log format", []string{"--log-format", "xml", "analyze", "x.pcap"}, ExitUsage, "--log-format"},
		{"bad log level", []string{"--log-level", "loud", "analyze", "x.pcap"}, ExitUsage, "--log-level"},
		{"analyze needs a file", []string{"analyze"}, ExitUsage, "accepts 1 arg"},
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

// TestRunBuildsOnlyItsCommand checks that a run which dispatches to one
// command builds that command alone (the others' flags are start-up work
// it does not need, issue 15), and that help, completion, no command and
// an unknown one still see the whole tree.
func TestRunBuildsOnlyItsCommand(t *testing.T) {
	names := func(args ...string) []string {
		var n []string
		for _, c := range newRootCmdFor(&env{}, args).Commands() {
			n = append(n, c.Name())
		}
		return n
	}
	all := names()
	if len(all) != len(subcommands) {
		t.Fatalf("the whole tree has %d commands, subcommands lists %d", len(all), len(subcommands))
	}
	for _, s := range subcommands {
		if got := s.build(&env{}).Name(); got != s.name {
			t.Errorf("subcommands calls %q what builds %q", s.name, got)
		}
	}
	one := []struct{ args []string }{
		{[]string{"traceroute", "-n", "127.0.0.1"}},
		{[]string{"--log-level", "debug", "traceroute", "127.0.0.1"}},
		{[]string{"--log-level=debug", "--version", "traceroute"}},
		{[]string{"traceroute", "--help"}},
	}
	for _, tt := range one {
		if got := names(tt.args...); len(got) != 1 || got[0] != "traceroute" {
			t.Errorf("%q builds %q, want only traceroute", tt.args, got)
		}
	}
	whole := [][]string{nil, {"help", "traceroute"}, {"--help"}, {"tracerout"}, {"completion", "bash"}, {"__complete", "tr"}, {"--", "version"}}
	for _, args := range whole {
		if got := names(args...); len(got) != len(all) {
			t.Errorf("%q builds %q, want the whole tree", args, got)
		}
	}
}
