package cli

import (
	"runtime"
	"sync"
)

// Capping GOMAXPROCS is the one lever that moves a loopback load run's CPU
// cost per request: with every client blocked in the netpoller, each
// response that readies a goroutine while another P sits idle wakes a
// second OS thread (futex, context switch), and idle Ps spin looking for
// work to steal. On 2 cores against nginx, one P measured ~16 µs of CPU per
// request against 17–20 µs with two, and left the server its core. The
// setting is process-wide, so the command decides it (see loadProcs), not
// the engine, and it is restored when the last run that asked for it ends.
var procsCap struct {
	sync.Mutex
	users int // runs currently holding a cap
	saved int // GOMAXPROCS before the first of them
}

// capProcs sets GOMAXPROCS to n (n <= 0: leave it) and returns the function
// that undoes it. Overlapping runs share the cap: the latest n applies, and
// the value from before the first is restored when the last one ends.
func capProcs(n int) (restore func()) {
	if n <= 0 {
		return func() {}
	}
	procsCap.Lock()
	defer procsCap.Unlock()
	prev := runtime.GOMAXPROCS(n)
	if procsCap.users == 0 {
		procsCap.saved = prev
	}
	procsCap.users++
	return func() {
		procsCap.Lock()
		defer procsCap.Unlock()
		if procsCap.users--; procsCap.users == 0 {
			runtime.GOMAXPROCS(procsCap.saved)
		}
	}
}
