package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxBinaryBytes is issue 15's bound: 26 MB, of a plain "go build" (with
// its symbol table and DWARF). The binary was 36.5 MB while anything
// reachable executed a text/template or html/template: template execution
// calls reflect's MethodByName, and then the linker keeps every exported
// method of every type (about 630 go-redis commands among them). It was
// 26.29 MB while /metrics went through promhttp, whose protobuf and
// OpenMetrics encoders were 0.44 MB of it (internal/stack's MetricsHandler
// writes the text format instead).
const maxBinaryBytes = 26_000_000

// TestBinaryStaysLean builds socklab and checks its size and that no
// template execution is linked in.
func TestBinaryStaysLean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "socklab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > maxBinaryBytes {
		t.Errorf("socklab is %.1f MB, bound %.1f MB", float64(st.Size())/1e6, float64(maxBinaryBytes)/1e6)
	}
	syms, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if strings.Contains(string(syms), "text/template.(*state).evalCall") {
		t.Error("a template is executed somewhere (text/template's evalCall is linked): use strings.Builder and html.EscapeString")
	}
}
