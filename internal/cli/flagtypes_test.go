package cli

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestEveryDurationTakesSeconds walks every command: each duration flag must
// take a bare number of seconds, as iperf3's -t and ping's -i do.
func TestEveryDurationTakesSeconds(t *testing.T) {
	root := newRootCmd(&env{})
	var seen int
	visit := func(path string, fs *pflag.FlagSet) {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() != "duration" {
				return
			}
			seen++
			if err := f.Value.Set("1.5"); err != nil {
				t.Errorf("%s --%s 1.5: %v", path, f.Name, err)
				return
			}
			if got := f.Value.String(); got != (1500 * time.Millisecond).String() {
				t.Errorf("%s --%s 1.5 = %s, want 1.5s", path, f.Name, got)
			}
			if err := f.Value.Set("250ms"); err != nil || f.Value.String() != "250ms" {
				t.Errorf("%s --%s 250ms = %s, %v", path, f.Name, f.Value.String(), err)
			}
			if err := f.Value.Set("soon"); err == nil {
				t.Errorf("%s --%s soon: accepted", path, f.Name)
			}
		})
	}
	for _, c := range root.Commands() {
		visit(c.CommandPath(), c.Flags())
	}
	if seen < 10 {
		t.Fatalf("only %d duration flags found", seen)
	}
}
