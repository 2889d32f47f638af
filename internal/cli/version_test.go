package cli

import (
	"strings"
	"testing"
)

func TestVersionCommandAndFlag(t *testing.T) {
	code, cmdOut, stderr := run(t, "", "version")
	if code != ExitOK || !strings.HasPrefix(cmdOut, "socklab ") || !strings.Contains(cmdOut, "  go        go1.") {
		t.Fatalf("socklab version: exit %d %q %q", code, cmdOut, stderr)
	}
	code, flagOut, _ := run(t, "", "--version")
	if code != ExitOK || flagOut != cmdOut {
		t.Fatalf("socklab --version: exit %d %q, want %q", code, flagOut, cmdOut)
	}
	if code, _, _ := run(t, "", "version", "extra"); code != ExitUsage {
		t.Fatalf("version with an argument: exit %d", code)
	}
}
