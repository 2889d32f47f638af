package cli

import (
	"strings"
	"testing"
)

// TestCobraErrorsAreUsage: cobra's own flag, argument and command errors
// exit 2 through the root's hooks, whatever their wording.
func TestCobraErrorsAreUsage(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"serv"},
		{"qos", "--count", "many"},
		{"qos", "--count"},
		{"get"},
		{"get", "a", "b"},
		{"ping", "-Z"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := run(t, "", args...)
			if code != ExitUsage || !strings.Contains(stderr, "--help' for usage") {
				t.Errorf("exit %d, stderr %q; want %d and the help hint", code, stderr, ExitUsage)
			}
		})
	}
}
