package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"

	"github.com/socklab/socklab/internal/httpcache"
)

// maxVariants bounds how many variant keys a Vary marker remembers for
// invalidation; older ones stay unreachable after a purge all the same.
const maxVariants = 64

// cache puts the Vary-marker scheme (see Entry) on top of a Store.
type cache struct {
	store Store
}

// newVaryID names a new Vary marker generation. It is random, not a
// counter: with a shared store (the Redis tier) several proxies create
// markers for the same URL, and a counter restarting at 1 in each of them
// would let one instance's old variants resurface under another's new
// marker after a purge.
func newVaryID() string { return rand.Text()[:16] }

// lookup finds the stored response for a request: the entry (nil when
// none), the key it lives under (or would), and when nothing matched, the
// Cache-Status forward reason: uri-miss or vary-miss (RFC 9211 §2.2).
func (c *cache) lookup(ctx context.Context, primary string, req httpcache.Header) (e *Entry, key, fwd string, err error) {
	e, err = c.store.Get(ctx, primary)
	if errors.Is(err, ErrNotFound) {
		return nil, primary, httpcache.FwdURIMiss, nil
	}
	if err != nil {
		return nil, primary, httpcache.FwdURIMiss, err
	}
	if !e.IsMarker() {
		return e, primary, "", nil
	}
	key = variantKey(primary, e.VaryID, httpcache.SecondaryKey(e.VaryFields, req))
	v, err := c.store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		// A variant stored under its Content-Language answers a request
		// that prefers that language most (httpcache.ContentLanguageKey).
		for _, alias := range httpcache.LanguageAliasKeys(e.VaryFields, req) {
			ak := variantKey(primary, e.VaryID, alias)
			if ak == key {
				continue
			}
			if v, err := c.store.Get(ctx, ak); err == nil {
				return v, ak, "", nil
			}
		}
		return nil, key, httpcache.FwdVaryMiss, nil
	}
	if err != nil {
		return nil, key, httpcache.FwdVaryMiss, err
	}
	return v, key, "", nil
}

func variantKey(primary, id, secondary string) string {
	return primary + "\x00" + id + "\x00" + secondary
}

// put stores e as the response to a request with header req.
func (c *cache) put(ctx context.Context, primary string, req httpcache.Header, e *Entry) error {
	fields, _ := httpcache.VaryFields(e.Header)
	old, err := c.store.Get(ctx, primary)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if len(fields) == 0 {
		if old != nil && old.IsMarker() {
			c.deleteVariants(ctx, old)
		}
		return c.store.Set(ctx, primary, e)
	}
	var marker *Entry
	if old != nil && old.IsMarker() && slices.Equal(old.VaryFields, fields) {
		// Copy on write: stored entries are shared.
		marker = &Entry{VaryFields: old.VaryFields, VaryID: old.VaryID, Variants: slices.Clone(old.Variants)}
	} else {
		if old != nil && old.IsMarker() {
			c.deleteVariants(ctx, old)
		}
		marker = &Entry{VaryFields: fields, VaryID: newVaryID()}
	}
	secondary, ok := httpcache.ContentLanguageKey(fields, req, e.Header)
	if !ok {
		secondary = httpcache.SecondaryKey(fields, req)
	}
	key := variantKey(primary, marker.VaryID, secondary)
	if err := c.store.Set(ctx, key, e); err != nil {
		return err
	}
	if !slices.Contains(marker.Variants, key) {
		marker.Variants = append(marker.Variants, key)
	}
	if len(marker.Variants) > maxVariants {
		marker.Variants = marker.Variants[len(marker.Variants)-maxVariants:]
	}
	return c.store.Set(ctx, primary, marker)
}

// replace stores e under a key found by lookup (revalidation, HEAD update).
func (c *cache) replace(ctx context.Context, key string, e *Entry) error {
	return c.store.Set(ctx, key, e)
}

// invalidate removes whatever is stored for primary; it reports whether
// anything was.
func (c *cache) invalidate(ctx context.Context, primary string) (bool, error) {
	old, err := c.store.Get(ctx, primary)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if old.IsMarker() {
		c.deleteVariants(ctx, old)
	}
	return true, c.store.Delete(ctx, primary)
}

func (c *cache) deleteVariants(ctx context.Context, marker *Entry) {
	for _, k := range marker.Variants {
		_ = c.store.Delete(ctx, k)
	}
}
