package proxy

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// ErrNotFound is what a Store's Get returns for an absent key.
var ErrNotFound = errors.New("cache entry not found")

// Store keeps cache entries by key. Implementations must be safe for
// concurrent use and must treat stored entries as immutable: the proxy
// never modifies an Entry after Set, and callers of Get must not either.
//
// The interface is shaped for a remote tier too (issue 9, Redis): every call
// takes a ctx for its deadline, returns errors rather than panicking, and an
// Entry carries everything freshness and Vary need (times, headers) plus
// StoreUntil, from which a tier derives its own TTL.
type Store interface {
	Get(ctx context.Context, key string) (*Entry, error)
	Set(ctx context.Context, key string, e *Entry) error
	Delete(ctx context.Context, key string) error
	Stats() StoreStats
	Close() error
}

// StoreStats are a store's counters, reported on /_socklab/stats.
type StoreStats struct {
	Objects       int    `json:"stored_objects"`
	Bytes         uint64 `json:"stored_bytes"`
	CapacityBytes uint64 `json:"capacity_bytes"`
	Evictions     uint64 `json:"evictions"`
}

// Entry is one stored object: a complete response, or a Vary marker.
//
// A response whose Vary is empty is stored under its primary key. One that
// varies is stored under a variant key (primary key + marker ID + Vary
// secondary key), and a marker under the primary key names the fields to
// build the secondary key from. Invalidating the primary key deletes the
// marker, and with it every variant becomes unreachable even if the store
// still holds it; a new marker gets a new ID, so old variants never resurface.
type Entry struct {
	Status       int
	Header       http.Header // as stored: no hop-by-hop fields (RFC 9111 §3.1)
	Body         []byte
	RequestTime  time.Time
	ResponseTime time.Time
	// StoreUntil is when a store may drop the entry: past its freshness
	// and stale windows and, with validators, an hour more for cheap
	// revalidation. Zero means "until evicted".
	StoreUntil time.Time

	// Vary marker fields: VaryFields is non-nil only on markers.
	VaryFields []string
	VaryID     string
	Variants   []string // variant keys, so invalidation can delete them

	meta atomic.Pointer[httpcache.Response] // parsed once, on first use
	hit  atomic.Pointer[hitHead]            // serialized head for hits, built on first one
}

// IsMarker reports whether e is a Vary marker rather than a response.
func (e *Entry) IsMarker() bool { return e.VaryFields != nil }

// Size approximates the memory e holds: body, header fields (map slot,
// slice and string headers included) and, for a response, the serialized
// heads its first hit builds (the fields twice more, with their line
// framing: as the response and as a 304), and the entry, its parsed metadata and the store's node.
func (e *Entry) Size() int {
	n := 768 + len(e.Body)
	if e.Status != 0 {
		n += 256 // the heads' status lines, Via, X-Cache, Content-Length
	}
	for k, vs := range e.Header {
		n += len(k) + 64
		for _, v := range vs {
			n += len(v) + 16 + 2*(len(k)+len(v)+4) // and in both heads (200, 304)
		}
	}
	for _, v := range e.Variants {
		n += len(v) + 16
	}
	for _, v := range e.VaryFields {
		n += len(v) + 16
	}
	return n
}

// response is e as the policy sees it, its header parsed once: a hit
// costs no Cache-Control or date parsing.
// The parse depends on the cache's target list (RFC 9213), the same for
// every call from one proxy.
func (e *Entry) response(t httpcache.Targets) *httpcache.Response {
	if r := e.meta.Load(); r != nil && slices.Equal(r.Targets, t) {
		return r
	}
	r := (&httpcache.Response{Status: e.Status, Header: e.Header, RequestTime: e.RequestTime, ResponseTime: e.ResponseTime, Targets: t}).Prepare()
	e.meta.Store(r)
	return r
}

// StoreMemory is the --cache-store value of the in-process MemoryStore.
// Other tiers (internal/proxy/redisstore) import this package, so the
// choice between them is made by the command (cli's openCacheStore).
const StoreMemory = "memory"
