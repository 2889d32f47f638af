package redisstore

import (
	"context"
	"time"

	"github.com/socklab/socklab/internal/proxy"
)

var _ proxy.SharedLocker = (*Tiered)(nil)

// lockPoll is how often WaitUnlock checks the lock itself, for a holder
// that died without unlocking (its lock then expires after LockTTL).
const lockPoll = 100 * time.Millisecond

// Lock claims the upstream fetch of key across instances; see
// Remote.Lock. It is the hook for --coalesce-shared: the instance that
// gets the lock fetches, the others WaitUnlock and then read the cache.
func (t *Tiered) Lock(ctx context.Context, key string) (unlock func(), ok bool, err error) {
	return t.l2.Lock(ctx, key)
}

// WaitUnlock waits until key's fetch lock is released (or the key is
// stored or deleted by any instance), at most about LockTTL, or until ctx ends.
// It reports whether the wait ended by a release rather than by time or
// ctx; either way the caller then looks the cache up and, on a miss,
// fetches itself.
func (t *Tiered) WaitUnlock(ctx context.Context, key string) bool {
	ch := make(chan struct{})
	t.waitMu.Lock()
	t.waiters[key] = append(t.waiters[key], ch)
	t.waitMu.Unlock()
	defer t.unwait(key, ch)

	limit := time.NewTimer(t.l2.opts.LockTTL + lockPoll)
	defer limit.Stop()
	poll := time.NewTicker(lockPoll)
	defer poll.Stop()
	// Registered first, checked second: a release between Lock and here
	// is seen either way.
	if held, err := t.l2.locked(ctx, key); err != nil || !held {
		return err == nil
	}
	for {
		select {
		case <-ch:
			return true
		case <-ctx.Done():
			return false
		case <-limit.C:
			held, err := t.l2.locked(ctx, key)
			return err == nil && !held
		case <-poll.C:
			if held, err := t.l2.locked(ctx, key); err != nil || !held {
				return err == nil
			}
		}
	}
}

// wake ends every wait on key.
func (t *Tiered) wake(key string) {
	t.waitMu.Lock()
	chs := t.waiters[key]
	delete(t.waiters, key)
	t.waitMu.Unlock()
	for _, ch := range chs {
		close(ch)
	}
}

// unwait removes ch from key's waiters, unless wake already took it.
func (t *Tiered) unwait(key string, ch chan struct{}) {
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	chs := t.waiters[key]
	for i, c := range chs {
		if c == ch {
			chs = append(chs[:i], chs[i+1:]...)
			break
		}
	}
	if len(chs) == 0 {
		delete(t.waiters, key)
	} else {
		t.waiters[key] = chs
	}
}
