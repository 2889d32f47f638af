package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
// writes the text format instead). It was 26.05 MB while the Redis store
// called go-redis' commands through an interface: the linker then keeps
// that method on every go-redis type ever held in an interface (the
// AutoPipeliner's engine among them); redisstore's conn binds method values
// of the concrete client instead (-191 KB).
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
		t.Errorf("socklab is %s bytes, bound %s", thousands(st.Size()), thousands(maxBinaryBytes))
	}
	syms, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	if strings.Contains(string(syms), "text/template.(*state).evalCall") {
		t.Error("a template is executed somewhere (text/template's evalCall is linked): use strings.Builder and html.EscapeString")
	}
}

// thousands writes n with comma separators (26,007,101): at a bound of
// 26,000,000 the overshoot is in the last digits, which "26.0 MB" hides.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func TestThousands(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {26_000_000, "26,000,000"},
		{26_007_101, "26,007,101"}, {-1234, "-1,234"}, {-123, "-123"},
	} {
		if got := thousands(tc.n); got != tc.want {
			t.Errorf("thousands(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
