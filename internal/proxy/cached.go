package proxy

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// serveCacheable answers a GET or HEAD from the cache when RFC 9111 allows,
// and otherwise goes upstream: revalidating a stored response, or
// coalescing a miss with concurrent ones for the same key.
func (p *Proxy) serveCacheable(w *respWriter, r *http.Request, t *target) {
	ctx := r.Context()
	primary := t.key(r.Method, t.keyURI)
	rd := httpcache.ParseCacheControl(r.Header)
	e, key, fwd, err := p.cache.lookup(ctx, primary, r.Header)
	if err != nil {
		p.log.Warn("cache lookup failed", "url", t.keyURI, "err", err)
	}
	f := fetch{fwd: fwd, primary: primary, noStore: rd.NoStore}
	if e != nil && e.Status == http.StatusPartialContent {
		p.servePartial(w, r, t, e, key, f)
		return
	}
	if e != nil {
		now := p.now()
		dec := httpcache.Reuse(p.request(r), e.response(p.targets), now)
		switch dec.Action {
		case httpcache.Fresh:
			p.serveStored(w, r, e, httpcache.CacheStatus{Cache: p.name, Hit: true, TTL: dec.TTL, HasTTL: true}, true)
			return
		case httpcache.StaleAllowed:
			p.serveStale(w, r, e, 0, "max-stale")
			return
		case httpcache.StaleWhileRevalidate:
			p.revalidateInBackground(r, t, key, e)
			p.serveStale(w, r, e, 0, "stale-while-revalidate")
			return
		case httpcache.Revalidate:
			if rd.OnlyIfCached {
				p.onlyIfCached(w, t)
				return
			}
			f.fwd = dec.Reason
			if f.fwd != httpcache.FwdRequest {
				f.fwd = httpcache.FwdStale
			}
			if r.Method == http.MethodHead {
				f.headOf, f.storedKey = e, key
				p.forward(w, r, t, f)
				return
			}
			f.stored, f.storedKey = e, key
			if f.fwd == httpcache.FwdStale && !rd.NoStore {
				// A popular entry going stale must not send every
				// client upstream at once: one revalidates.
				p.coalesce(w, r, t, f)
			} else {
				p.forward(w, r, t, f)
			}
			return
		}
		// Unusable (Authorization, §3.5): a plain miss.
		f.fwd = httpcache.FwdMiss
	}
	if rd.OnlyIfCached {
		p.onlyIfCached(w, t)
		return
	}
	if r.Method == http.MethodHead || f.fwd == httpcache.FwdMiss || rd.NoStore {
		p.forward(w, r, t, f)
		return
	}
	p.coalesce(w, r, t, f)
}

// coalesce makes one request per primary key go upstream (a miss or a
// revalidation) while the others wait for it and then look the cache up
// again.
func (p *Proxy) coalesce(w *respWriter, r *http.Request, t *target, f fetch) {
	ctx, primary := r.Context(), f.primary
	fl, leader := p.flights.join(primary)
	if leader {
		f.flight, f.flightKey, f.flights = fl, primary, &p.flights
		// Between this request's lookup and its join, a previous leader may
		// have stored the response and finished its flight: look again
		// before going upstream, or the origin is asked twice.
		if p.serveCollapsed(w, r, primary) {
			f.release()
			return
		}
		unlock, served := p.sharedLead(w, r, f)
		if served {
			return
		}
		if unlock != nil {
			defer unlock() // after forward has stored the response
		}
		p.forward(w, r, t, f)
		return
	}
	p.flights.waiting.Add(1)
	select {
	case <-fl.done:
		p.flights.waiting.Add(-1)
	case <-ctx.Done():
		p.flights.waiting.Add(-1)
		p.clientGone(w)
	}
	// The leader's response is shared only through the store, i.e. only
	// if it turned out storable, and only if it fits this request's Vary.
	if p.serveCollapsed(w, r, primary) {
		return
	}
	p.forward(w, r, t, f)
}

// serveCollapsed answers r from the store when a fresh response for it is
// there now, stored by another request (here, or on another proxy sharing
// the store) since r's own lookup. It reports whether it answered.
func (p *Proxy) serveCollapsed(w *respWriter, r *http.Request, primary string) bool {
	e, _, _, err := p.cache.lookup(r.Context(), primary, r.Header)
	if err != nil || e == nil || e.Status == http.StatusPartialContent {
		return false // a part answers only through servePartial
	}
	dec := httpcache.Reuse(p.request(r), e.response(p.targets), p.now())
	if dec.Action != httpcache.Fresh {
		return false
	}
	p.counters.coalesced.Add(1)
	p.serveStored(w, r, e, httpcache.CacheStatus{Cache: p.name, Hit: true, Collapsed: true, TTL: dec.TTL, HasTTL: true}, true)
	return true
}

// onlyIfCached answers 504 when the client allows only a stored response
// and none is usable (RFC 9111 §5.2.1.7).
func (p *Proxy) onlyIfCached(w http.ResponseWriter, t *target) {
	p.counters.misses.Add(1)
	p.plainError(w, http.StatusGatewayTimeout, "only-if-cached: no usable stored response for "+t.keyURI)
}

// serveStored answers from a stored entry. reuse means no validation
// happened, so fields a qualified no-cache names are left out (§5.2.2.4).
// A client's own conditional is answered with 304 when it matches.
func (p *Proxy) serveStored(w *respWriter, r *http.Request, e *Entry, cs httpcache.CacheStatus, reuse bool) {
	p.counters.hits.Add(1)
	p.serveEntry(w, r, e, cs, reuse, "HIT")
}

// serveEntry sends e, marked with cs and verdict (X-Cache).
func (p *Proxy) serveEntry(w *respWriter, r *http.Request, e *Entry, cs httpcache.CacheStatus, reuse bool, verdict string) {
	meta := e.response(p.targets)
	var skip []string
	if reuse {
		skip = meta.Directives().NoCacheFields
	}
	out := w.Header()
	for k, v := range e.Header {
		if !slices.Contains(skip, k) {
			// Shared with the stored entry, capped so that an append
			// (Via) copies instead of writing into it; Set replaces.
			out[k] = slices.Clip(v)
		}
	}
	p.targets.Strip(out)
	p.mark(out, meta.Age(p.now()), cs, verdict)
	if e.Status == http.StatusOK && httpcache.NotModified(r.Header, e.Header) {
		out.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if e.Status == http.StatusOK && r.Method == http.MethodGet && p.serveRange(w, r, e) {
		return
	}
	if e.Status >= 200 && e.Status != http.StatusNoContent {
		out["Content-Length"] = []string{strconv.Itoa(len(e.Body))}
	}
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(e.Body)
	}
}

// serveStale answers with a stale entry (max-stale, stale-while-revalidate,
// stale-if-error); upstreamStatus is the failed fetch's status, if any.
func (p *Proxy) serveStale(w *respWriter, r *http.Request, e *Entry, upstreamStatus int, why string) {
	p.counters.staleServed.Add(1)
	cs := httpcache.CacheStatus{Cache: p.name, Hit: upstreamStatus == 0 && why != "stale-if-error", TTL: e.response(p.targets).TTL(p.now()), HasTTL: true, Detail: why}
	if !cs.Hit {
		cs.Fwd, cs.FwdStatus = httpcache.FwdStale, upstreamStatus
	}
	p.serveStored(w, r, e, cs, true)
}

// refreshed applies a 304 to the stored entry (RFC 9111 §4.3.4), stores
// the result and serves it.
func (p *Proxy) refreshed(w *respWriter, r *http.Request, f fetch, resp *http.Response, reqTime, respTime time.Time) {
	e := p.updatedEntry(f.stored, resp.Header, reqTime, respTime)
	if ok, _ := httpcache.Storable(p.request(r), e.Status, e.Header, p.targets); ok && !f.noStore {
		_ = p.cache.replace(r.Context(), f.storedKey, e)
	} else {
		_ = p.cache.store.Delete(r.Context(), f.storedKey)
	}
	p.counters.revalidated.Add(1)
	cs := httpcache.CacheStatus{Cache: p.name, Fwd: f.fwd, FwdStatus: http.StatusNotModified, TTL: e.response(p.targets).TTL(respTime), HasTTL: true}
	// The stored entry never keeps cookies; the client whose request
	// went to the origin gets the ones its 304 carried.
	for _, k := range []string{"Set-Cookie", "Set-Cookie2"} {
		if v := resp.Header[k]; len(v) > 0 {
			w.Header()[k] = v
		}
	}
	p.serveStored(w, r, e, cs, false)
}

// updatedEntry is stored updated by the header of a 304 or HEAD response
// received at respTime.
func (p *Proxy) updatedEntry(stored *Entry, h http.Header, reqTime, respTime time.Time) *Entry {
	e := &Entry{Status: stored.Status, Header: http.Header(httpcache.Update304(stored.Header, h, p.targets)), Body: stored.Body, RequestTime: reqTime, ResponseTime: respTime}
	if h.Get("Date") == "" {
		e.Header.Set("Date", httpcache.FormatHTTPDate(respTime))
	}
	e.StoreUntil = p.storeUntil(e)
	return e
}

// headUpdate uses a HEAD response to refresh or invalidate the stored GET
// entry (RFC 9111 §4.3.5).
func (p *Proxy) headUpdate(ctx context.Context, f fetch, h http.Header, reqTime, respTime time.Time) {
	if httpcache.HeadInvalidates(f.headOf.Header, h) {
		_ = p.cache.store.Delete(ctx, f.storedKey)
		return
	}
	if httpcache.Selects304(f.headOf.Header, h) {
		_ = p.cache.replace(ctx, f.storedKey, p.updatedEntry(f.headOf, h, reqTime, respTime))
	}
}

// revalidateInBackground refreshes a stale entry served under
// stale-while-revalidate (RFC 5861 §3), once per key at a time.
func (p *Proxy) revalidateInBackground(r *http.Request, t *target, key string, stored *Entry) {
	fkey := "bg\x00" + key
	fl, leader := p.flights.join(fkey)
	if !leader {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	header := r.Header.Clone()
	host := r.Host
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer p.flights.finish(fkey, fl)
		ctx, cancel := context.WithTimeout(ctx, p.timeout)
		defer cancel()
		out, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url.String(), nil)
		if err != nil {
			return
		}
		out.Header = header
		httpcache.RemoveHopByHop(out.Header)
		for _, k := range conditionalFields {
			out.Header.Del(k)
		}
		for k, v := range httpcache.ConditionalHeader(stored.Header) {
			out.Header[k] = v
		}
		out.Header.Add("Via", p.via)
		if t.reverse {
			out.Host = host
		}
		reqTime := p.now()
		resp, err := p.transportFor(t).RoundTrip(out)
		respTime := p.now()
		if err != nil {
			p.log.Debug("background revalidation failed", "url", t.keyURI, "err", err)
			return
		}
		defer resp.Body.Close()
		req := httpcache.Request{Method: http.MethodGet, Header: header}
		switch {
		case resp.StatusCode == http.StatusNotModified && httpcache.Selects304(stored.Header, resp.Header):
			p.counters.revalidated.Add(1)
			_ = p.cache.replace(ctx, key, p.updatedEntry(stored, resp.Header, reqTime, respTime))
		case resp.StatusCode != http.StatusNotModified:
			if decodeTransferCodings(resp) != nil {
				return // coded with what the proxy cannot decode: not storable
			}
			h := resp.Header.Clone()
			httpcache.RemoveHopByHop(h)
			if ok, _ := httpcache.Storable(req, resp.StatusCode, h, p.targets); !ok || resp.ContentLength > p.maxObject {
				return
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxObject+1))
			if err != nil || int64(len(body)) > p.maxObject {
				return
			}
			if len(h["Date"]) == 0 {
				h.Set("Date", httpcache.FormatHTTPDate(respTime))
			}
			e := &Entry{Status: resp.StatusCode, Header: http.Header(httpcache.StorageHeader(h, p.targets)), Body: body, RequestTime: reqTime, ResponseTime: respTime}
			e.StoreUntil = p.storeUntil(e)
			_ = p.cache.replace(ctx, key, e)
		}
	}()
}

// serveRange answers a Range request from a stored complete response
// (RFC 9111 §3.4, RFC 9110 §14): 206 with the one range asked for, or 416
// when none is satisfiable. It reports false, leaving the full 200 to the
// caller, when there is no Range, If-Range does not match, the field is
// to be ignored, or several ranges are asked for (a full 200 is a valid
// answer to those, §14.2, and cheaper than multipart/byteranges).
func (p *Proxy) serveRange(w *respWriter, r *http.Request, e *Entry) bool {
	v := r.Header.Get("Range")
	if v == "" || !httpcache.IfRangeAllows(r.Header, e.Header) {
		return false
	}
	size := int64(len(e.Body))
	rs, ok := httpcache.ParseRange(v, size)
	if !ok || len(rs) > 1 {
		return false
	}
	out := w.Header()
	if len(rs) == 0 {
		out["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
		out["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return true
	}
	rg := rs[0]
	out["Content-Range"] = []string{rg.ContentRange(size)}
	out["Content-Length"] = []string{strconv.FormatInt(rg.Len(), 10)}
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(e.Body[rg.First : rg.Last+1])
	return true
}
