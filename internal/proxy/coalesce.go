package proxy

import (
	"sync"
	"sync/atomic"
)

// flights coalesces concurrent misses for one key: the first request
// (the leader) goes upstream; the others wait for it to finish and then
// look the cache up again, so they share the response only if it was
// stored, i.e. only if it turned out cacheable (private responses are never
// handed to other clients).
type flights struct {
	mu      sync.Mutex
	m       map[string]*flight
	waiting atomic.Int64 // requests currently waiting on a leader
}

type flight struct {
	done chan struct{}
	once sync.Once
}

// join returns the flight for key and whether the caller leads it.
func (f *flights) join(key string) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
		return fl, false
	}
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// finish ends the leader's flight and wakes the waiters; calling it again
// is harmless, so a leader can finish early once it knows its response
// will not be stored.
func (f *flights) finish(key string, fl *flight) {
	fl.once.Do(func() {
		f.mu.Lock()
		if f.m[key] == fl {
			delete(f.m, key)
		}
		f.mu.Unlock()
		close(fl.done)
	})
}
