package proxy

import (
	"context"
	"net/http"
)

// SharedLocker is implemented by a Store that several proxies share
// (internal/proxy/redisstore.Tiered). With Config.CoalesceShared, a miss
// that leads this proxy's coalescing also takes the store's lock for the
// key, so only one proxy of the group goes upstream; the others wait for
// the lock's release and then read the cache.
type SharedLocker interface {
	// Lock claims the upstream fetch of key. ok is false when another
	// proxy holds it; unlock (non-nil when ok) releases it. On error no
	// lock is held and the caller fetches on its own.
	Lock(ctx context.Context, key string) (unlock func(), ok bool, err error)
	// WaitUnlock returns when key's lock is released or its entry
	// changes, after a bounded time, or when ctx ends.
	WaitUnlock(ctx context.Context, key string) bool
}

// sharedLead coordinates a local leader with the other proxies sharing
// the store. It returns an unlock to call once the fetch is stored, or
// served=true when another proxy's fetch answered the request (the local
// flight is then finished too, so requests coalesced here read it).
func (p *Proxy) sharedLead(w *respWriter, r *http.Request, f fetch) (unlock func(), served bool) {
	sl, ok := p.cfg.Store.(SharedLocker)
	if !ok || !p.cfg.CoalesceShared {
		return nil, false
	}
	ctx := r.Context()
	unlock, got, err := sl.Lock(ctx, f.primary)
	if err != nil {
		return nil, false
	}
	if got {
		// Another proxy may have stored the response and released the
		// lock just before we took it: it stores before it unlocks, so a
		// look now is conclusive.
		if p.serveCollapsed(w, r, f.primary) {
			unlock()
			f.release()
			return nil, true
		}
		return unlock, false
	}
	sl.WaitUnlock(ctx, f.primary)
	if !p.serveCollapsed(w, r, f.primary) {
		return nil, false
	}
	f.release()
	return nil, true
}
