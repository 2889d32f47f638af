package procs

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestCapProcsOverlapping: two overlapping caps restore the original value
// only when the second ends.
func TestCapProcsOverlapping(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	undoA := Cap(before + 1)
	undoB := Cap(before + 2)
	undoA()
	if got := runtime.GOMAXPROCS(0); got != before+2 {
		t.Fatalf("after the first ended: %d, want %d", got, before+2)
	}
	undoB()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("after both ended: %d, want %d", got, before)
	}
	Cap(0)() // no-op
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("Cap(0) changed GOMAXPROCS to %d", got)
	}
}

func TestForLoad(t *testing.T) {
	tests := []struct {
		name          string
		flag          int
		target, proxy string
		env           bool
		cpus, want    int
	}{
		{"loopback target halves", 0, "http://127.0.0.1:8000/", "", false, 4, 2},
		{"localhost udp halves", 0, "udp://localhost:9000", "", false, 2, 1},
		{"one cpu keeps one", 0, "http://[::1]:8000/", "", false, 1, 1},
		{"remote target: all", 0, "http://192.0.2.10/", "", false, 4, 0},
		{"through a local proxy halves", 0, "http://192.0.2.10/", "http://127.0.0.1:8080", false, 8, 4},
		{"flag wins", 3, "http://127.0.0.1/", "", false, 8, 3},
		{"GOMAXPROCS set by the user wins", 0, "http://127.0.0.1/", "", true, 8, 0},
	}
	for _, tt := range tests {
		if got := ForLoad(tt.flag, tt.target, tt.proxy, tt.env, tt.cpus); got != tt.want {
			t.Errorf("%s: ForLoad = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestLimitMemory: the limit is the bound plus headroom while the run
// lasts, the old one after; no bound, or GOMEMLIMIT set, leaves it alone.
func TestLimitMemory(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	before := debug.SetMemoryLimit(-1)
	restore := LimitMemory(64 << 20)
	if got := debug.SetMemoryLimit(-1); got != 64<<20+memHeadroom {
		t.Errorf("limit during the run %d, want %d", got, 64<<20+memHeadroom)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after the run %d, want %d restored", got, before)
	}
	LimitMemory(0)()
	t.Setenv("GOMEMLIMIT", "1GiB")
	LimitMemory(64 << 20)()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit changed to %d with no bound or with GOMEMLIMIT set", got)
	}
}
