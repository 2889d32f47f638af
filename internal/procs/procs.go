// Package procs holds the process-wide runtime settings a command decides
// for its run, set while it lasts and restored after: GOMAXPROCS (the one
// lever that moves a loopback load run's CPU cost) and the Go memory limit
// (which keeps a caching proxy's RSS near its cache bound).
package procs

import (
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// Capping GOMAXPROCS is the one lever that moves a loopback load run's CPU
// cost per request: with every client blocked in the netpoller, each
// response that readies a goroutine while another P sits idle wakes a
// second OS thread (futex, context switch), and idle Ps spin looking for
// work to steal. On 2 cores against nginx, one P measured ~16 µs of CPU per
// request against 17–20 µs with two, and left the server its core. The
// setting is process-wide, so the command decides it (see ForLoad), not
// the engine, and it is restored when the last run that asked for it ends.
var procsCap struct {
	sync.Mutex
	users int // runs currently holding a cap
	saved int // GOMAXPROCS before the first of them
}

// Cap sets GOMAXPROCS to n (n <= 0: leave it) and returns the function
// that undoes it. Overlapping runs share the cap: the latest n applies, and
// the value from before the first is restored when the last one ends.
func Cap(n int) (restore func()) {
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

// ForLoad resolves a load run's --procs (flag). A load generator on the
// same machine as the server it measures competes with it for the CPUs:
// on a small machine,
// half of them for the generator leaves the server room and halves the
// cross-thread wake-ups per request (wrk defaults to 2 threads). Against
// another machine it may use them all. GOMAXPROCS set by the user wins.
// Zero means leave the runtime alone.
func ForLoad(flag int, target, proxy string, envSet bool, cpus int) int {
	if flag > 0 {
		return flag
	}
	if envSet {
		return 0
	}
	where := target
	if proxy != "" {
		where = proxy
	}
	u, err := url.Parse(where)
	if err != nil {
		return 0
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
		return max(1, cpus/2)
	}
	return 0
}

// memHeadroom is what the memory limit allows above the cache bound: for
// garbage, connections and the runtime.
const memHeadroom = 16 << 20

// LimitMemory keeps the heap, and so RSS, near bound (what a cache may
// hold in memory): without a limit the GC lets the heap reach twice the
// live cache. It does nothing for bound 0 or when GOMEMLIMIT is set (the
// user's value wins). The returned func restores the previous limit.
func LimitMemory(bound int64) (restore func()) {
	if bound <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prev := debug.SetMemoryLimit(bound + memHeadroom)
	return func() { debug.SetMemoryLimit(prev) }
}
