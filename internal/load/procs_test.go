package load

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestProcsCap checks that Config.Procs holds GOMAXPROCS during an HTTP run
// and gives the previous value back afterwards, and that zero leaves it be.
func TestProcsCap(t *testing.T) {
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(int64(runtime.GOMAXPROCS(0)))
	}))
	defer srv.Close()
	before := runtime.GOMAXPROCS(0)
	want := before + 1 // differs from before whatever the machine
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })

	runLoad(t, Config{Target: srv.URL, Clients: 1, Requests: 3, Procs: want})
	if got := seen.Load(); got != int64(want) {
		t.Fatalf("GOMAXPROCS during the run %d, want %d", got, want)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("GOMAXPROCS after the run %d, want %d restored", got, before)
	}
	runLoad(t, Config{Target: srv.URL, Clients: 1, Requests: 3})
	if got := seen.Load(); got != int64(before) {
		t.Fatalf("Procs 0: GOMAXPROCS during the run %d, want %d untouched", got, before)
	}
}

// TestCapProcsOverlapping: two overlapping caps restore the original value
// only when the second ends.
func TestCapProcsOverlapping(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	undoA := capProcs(before + 1)
	undoB := capProcs(before + 2)
	undoA()
	if got := runtime.GOMAXPROCS(0); got != before+2 {
		t.Fatalf("after the first ended: %d, want %d", got, before+2)
	}
	undoB()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("after both ended: %d, want %d", got, before)
	}
	capProcs(0)() // no-op
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("capProcs(0) changed GOMAXPROCS to %d", got)
	}
}
