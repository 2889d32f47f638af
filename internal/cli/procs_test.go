package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestLoadCapsProcs: a load run against loopback holds GOMAXPROCS at half
// the CPUs while it runs (the command decides, not the engine) and gives
// the previous value back afterwards.
func TestLoadCapsProcs(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment: the user's value wins and nothing is capped")
	}
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(int64(runtime.GOMAXPROCS(0)))
	}))
	defer srv.Close()
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	if code, _, stderr := run(t, "", "load", "-c", "1", "-n", "3", srv.URL); code != ExitOK {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	if got, want := seen.Load(), int64(max(1, runtime.NumCPU()/2)); got != want {
		t.Errorf("GOMAXPROCS during the run %d, want %d", got, want)
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS after the run %d, want %d restored", got, before)
	}
}
