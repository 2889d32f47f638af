package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/socklab/socklab/internal/proxy"
)

// Tiered is the shared cache as one proxy sees it: a memory L1 in front of
// Redis (L2). A Get tries the L1, then Redis, and fills the L1 from Redis;
// Set and Delete write through to Redis, which publishes the key so every
// other instance drops it from its L1. While this instance's subscription
// is down it may miss invalidations, so its L1 is cleared when the
// subscription comes back.
type Tiered struct {
	l1    *proxy.MemoryStore // nil: no L1
	l2    *Remote
	fills fills

	subUp     atomic.Bool
	subDone   chan struct{}
	subReady  chan struct{} // closed on the first subscription
	readyOnce sync.Once
	psMu      sync.Mutex
	stopSub   context.CancelFunc // under psMu
	ps        *redis.PubSub      // the current subscription, under psMu

	waitMu  sync.Mutex
	waiters map[string][]chan struct{} // WaitUnlock, by key

	l1Hits, l1Misses atomic.Uint64
	received         atomic.Uint64 // invalidations from other instances
	resyncs          atomic.Uint64 // L1 cleared after a subscription gap
}

var _ proxy.Store = (*Tiered)(nil)

// Open connects the shared tier for the Redis named by rawURL and starts
// listening for invalidations. An unreachable Redis is not an error: the
// tier starts bypassed and joins in when Redis answers.
func Open(rawURL string, opts Options) (*Tiered, error) {
	l2, err := NewRemote(rawURL, opts)
	if err != nil {
		return nil, err
	}
	t := &Tiered{l2: l2, subDone: make(chan struct{}), subReady: make(chan struct{}), waiters: map[string][]chan struct{}{}}
	if opts.L1Bytes > 0 {
		if t.l1, err = proxy.NewMemoryStore(opts.L1Bytes); err != nil {
			_ = l2.Close()
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.stopSub = cancel
	go t.subscribe(ctx)
	return t, nil
}

// Remote is the Redis tier under t.
func (t *Tiered) Remote() *Remote { return t.l2 }

// Get returns the entry under key from the L1 or Redis. Redis failing or
// bypassed reads as a miss (the tier logs it); the proxy then goes upstream.
func (t *Tiered) Get(ctx context.Context, key string) (*proxy.Entry, error) {
	if t.l1 != nil {
		if e, err := t.l1.Get(ctx, key); err == nil {
			t.l1Hits.Add(1)
			return e, nil
		}
		t.l1Misses.Add(1)
	}
	f := t.fills.begin(key)
	e, gen, err := t.l2.get(ctx, key)
	clean := t.fills.end(key, f, gen)
	if err != nil {
		return nil, proxy.ErrNotFound
	}
	// An invalidation that arrived while Redis was read may concern what
	// was read: serve it this once, but do not keep it.
	if clean && t.l1 != nil {
		_ = t.l1.Set(ctx, key, e)
	}
	return e, nil
}

// Set writes e to Redis and the L1. Redis failing is logged by the tier
// and otherwise ignored: the L1 still serves this instance.
func (t *Tiered) Set(ctx context.Context, key string, e *proxy.Entry) error {
	err := t.l2.Set(ctx, key, e)
	if t.l1 != nil {
		_ = t.l1.Set(ctx, key, e)
	}
	if errors.Is(err, errEncode) {
		return err // the entry itself cannot be stored: the caller should know
	}
	return nil
}

// Delete removes key from the L1 and from Redis, which tells every other
// instance. When Redis cannot be reached the error is returned (a PURGE
// answers 503): the other instances may still hold the key.
func (t *Tiered) Delete(ctx context.Context, key string) error {
	if t.l1 != nil {
		_ = t.l1.Delete(ctx, key)
	}
	t.fills.invalidate(key, noGen)
	if err := t.l2.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete from the shared tier: %w", err)
	}
	return nil
}

// Stats reports the L1's objects and bytes (what this instance holds in
// memory); TierStats has the Redis side.
func (t *Tiered) Stats() proxy.StoreStats {
	if t.l1 == nil {
		return proxy.StoreStats{}
	}
	return t.l1.Stats()
}

// Close stops the subscription and closes the connections.
func (t *Tiered) Close() error {
	t.psMu.Lock()
	t.stopSub()
	if t.ps != nil {
		_ = t.ps.Close() // unblocks the loop's read
	}
	t.psMu.Unlock()
	<-t.subDone
	if t.l1 != nil {
		_ = t.l1.Close()
	}
	return t.l2.Close()
}

// dropL1 removes key from the L1 after another instance stored gen
// (noGen: deleted it).
func (t *Tiered) dropL1(key, gen string) {
	t.fills.invalidate(key, gen)
	if t.l1 != nil {
		_ = t.l1.Delete(context.Background(), key)
	}
}

// clearL1 empties the L1: invalidations may have been missed.
func (t *Tiered) clearL1() {
	t.fills.invalidateAll()
	if t.l1 != nil {
		_ = t.l1.Close() // MemoryStore.Close drops every entry and stays usable
	}
}

// fills tracks L1 fills in progress so that an invalidation arriving
// between reading Redis and filling the L1 cancels the fill, unless it
// announced the very generation that was read (the common case of a read
// racing the store's own message).
type fills struct {
	mu sync.Mutex
	m  map[string]*fill
}

type fill struct {
	n     int
	gen   string // the one generation announced meanwhile, if any
	dirty bool   // a delete, a clear, or two different generations
}

func (f *fills) begin(key string) *fill {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]*fill{}
	}
	fl := f.m[key]
	if fl == nil {
		fl = &fill{}
		f.m[key] = fl
	}
	fl.n++
	return fl
}

// end reports whether what was read (generation gen) may fill the L1:
// nothing invalidated key since begin, or only a store of gen itself.
func (f *fills) end(key string, fl *fill, gen string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl.n--
	if fl.n == 0 && f.m[key] == fl {
		delete(f.m, key)
	}
	return !fl.dirty && (fl.gen == "" || fl.gen == gen)
}

// invalidate records that key changed to generation gen (noGen: deleted).
func (f *fills) invalidate(key, gen string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.m[key]
	switch {
	case fl == nil:
	case gen == noGen || fl.gen != "" && fl.gen != gen:
		fl.dirty = true
	default:
		fl.gen = gen
	}
}

func (f *fills) invalidateAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, fl := range f.m {
		fl.dirty = true
		delete(f.m, k)
	}
}

// subscribeBackoff bounds how fast the loop retries a Redis that is down.
const (
	subscribeBackoffMin = 50 * time.Millisecond
	subscribeBackoffMax = 2 * time.Second
	subscribeHealth     = 5 * time.Second // ping an idle subscription this often
)
