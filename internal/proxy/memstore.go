package proxy

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// MemoryStore is a Store in process memory, bounded by bytes (bodies and
// headers, see Entry.Size). It is backed by maypok86/otter: W-TinyLFU
// admission and eviction (better hit ratios than LRU on skewed and scan
// workloads), weighted by size, lock-free reads, per-entry expiry — all of
// which a hand-written LRU would have to reinvent.
type MemoryStore struct {
	c         *otter.Cache[string, *Entry]
	max       uint64
	evictions atomic.Uint64
	markers   atomic.Int64 // Vary markers held: bookkeeping, not objects
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding at most maxBytes.
func NewMemoryStore(maxBytes int64) (*MemoryStore, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("memory cache store: size must be positive, not %d", maxBytes)
	}
	s := &MemoryStore{max: uint64(maxBytes)}
	c, err := otter.New(&otter.Options[string, *Entry]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(k string, e *Entry) uint32 {
			return uint32(min(len(k)+e.Size(), math.MaxUint32))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(en otter.Entry[string, *Entry]) time.Duration {
			if en.Value.StoreUntil.IsZero() {
				return 100 * 365 * 24 * time.Hour
			}
			return max(time.Until(en.Value.StoreUntil), time.Millisecond)
		}),
		// Atomic, not OnDeletion: that one runs later on another
		// goroutine, so right after a PURGE the entry was gone but its
		// marker still counted, and Stats under-counted objects.
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *Entry]) {
			if ev.Value.IsMarker() {
				s.markers.Add(-1) // replaced, deleted, expired or evicted
			}
			if ev.Cause == otter.CauseOverflow {
				s.evictions.Add(1)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("memory cache store: %w", err)
	}
	s.c = c
	return s, nil
}

// Get returns the entry under key, or ErrNotFound.
func (s *MemoryStore) Get(_ context.Context, key string) (*Entry, error) {
	if e, ok := s.c.GetIfPresent(key); ok {
		return e, nil
	}
	return nil, ErrNotFound
}

// Set stores e under key, evicting others when over the bound. An entry
// larger than the whole store is not kept.
func (s *MemoryStore) Set(_ context.Context, key string, e *Entry) error {
	if uint64(len(key)+e.Size()) > s.max {
		s.c.Invalidate(key)
		return nil
	}
	if e.IsMarker() {
		s.markers.Add(1) // before Set: a replaced marker's deletion follows
	}
	s.c.Set(key, e)
	return nil
}

// Delete removes key.
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.c.Invalidate(key)
	return nil
}

// Stats reports objects, bytes and evictions. Objects are stored
// responses: Vary markers (see Entry) are not counted, so one response
// that varies counts once.
func (s *MemoryStore) Stats() StoreStats {
	objects := max(0, s.c.EstimatedSize()-int(s.markers.Load()))
	return StoreStats{Objects: objects, Bytes: s.c.WeightedSize(), CapacityBytes: s.max, Evictions: s.evictions.Load()}
}

// CleanUp runs pending evictions now (tests use it to check the bound).
func (s *MemoryStore) CleanUp() { s.c.CleanUp() }

// Close drops every entry.
func (s *MemoryStore) Close() error {
	s.c.InvalidateAll()
	return nil
}
