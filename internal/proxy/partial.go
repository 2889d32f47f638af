package proxy

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// A stored part is an Entry with Status 206, its Content-Range naming the
// one range its Body holds and the complete length (RFC 9111 §3.3). Parts
// of one representation that overlap or touch and share a strong
// validator are combined; a part that covers the whole representation
// becomes a complete 200 (§3.4).

// part returns the range a stored 206 holds and the complete length.
func part(e *Entry) (httpcache.ByteRange, int64, bool) {
	rg, size, ok := httpcache.ParseContentRange(e.Header.Get("Content-Range"))
	return rg, size, ok && int64(len(e.Body)) == rg.Len()
}

// servePartial answers a GET when what is stored is a part: the range
// asked for from the part when it holds it and is fresh; otherwise it goes
// upstream, asking only for the rest when the client wants the whole
// representation and the part can be completed safely (a strong validator
// sent as If-Range), and combining what comes back with the part.
func (p *Proxy) servePartial(w *respWriter, r *http.Request, t *target, e *Entry, key string, f fetch) {
	dec := httpcache.Reuse(p.request(r), e.response(p.targets), p.now())
	rg, size, ok := part(e)
	if !ok || r.Method != http.MethodGet {
		f.fwd = httpcache.FwdMiss
		p.forward(w, r, t, f)
		return
	}
	f.partial, f.storedKey = e, key
	if dec.Action != httpcache.Fresh {
		f.fwd = httpcache.FwdStale
		p.forward(w, r, t, f)
		return
	}
	if v := r.Header.Get("Range"); v != "" {
		if p.serveFromPart(w, r, e, rg, size, dec) {
			return
		}
		f.fwd = httpcache.FwdMiss
		p.forward(w, r, t, f)
		return
	}
	validator := e.Header.Get("Etag")
	if validator == "" {
		validator = e.Header.Get("Last-Modified")
	}
	if rest := httpcache.CompletionRange(rg, size); rest != "" && httpcache.StrongMatch(e.Header, e.Header) {
		f.complete, f.ifRange = rest, validator
	}
	f.fwd = httpcache.FwdMiss
	p.forward(w, r, t, f)
}

// serveFromPart answers a single-range request the stored part holds.
func (p *Proxy) serveFromPart(w *respWriter, r *http.Request, e *Entry, rg httpcache.ByteRange, size int64, dec httpcache.Decision) bool {
	if !httpcache.IfRangeAllows(r.Header, e.Header) {
		return false
	}
	rs, ok := httpcache.ParseRange(r.Header.Get("Range"), size)
	if !ok || len(rs) != 1 || rs[0].First < rg.First || rs[0].Last > rg.Last {
		return false
	}
	want := rs[0]
	out := w.Header()
	for k, v := range e.Header {
		out[k] = v
	}
	p.targets.Strip(out)
	p.mark(out, dec.Age, httpcache.CacheStatus{Cache: p.name, Hit: true, TTL: dec.TTL, HasTTL: true}, "HIT")
	p.counters.hits.Add(1)
	out["Content-Range"] = []string{want.ContentRange(size)}
	out["Content-Length"] = []string{strconv.FormatInt(want.Len(), 10)}
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(e.Body[want.First-rg.First : want.Last-rg.First+1])
	return true
}

// withPart turns a complete 206 just received into what to store: the part
// combined with the stored one when they belong together, a complete 200
// when together they cover the representation. ok is false when the body
// does not match its Content-Range.
func (p *Proxy) withPart(stored, e *Entry) (*Entry, bool) {
	rg, size, ok := part(e)
	if !ok {
		return nil, false
	}
	if stored != nil && stored.Status == http.StatusPartialContent && httpcache.StrongMatch(stored.Header, e.Header) {
		if srg, ssize, sok := part(stored); sok && ssize == size {
			if mrg, body, ok := httpcache.CombineParts(srg, stored.Body, rg, e.Body); ok {
				// §3.4: the new response's fields, the others kept.
				h := http.Header(httpcache.Update304(stored.Header, e.Header, p.targets))
				e = &Entry{Status: http.StatusPartialContent, Header: h, Body: body, RequestTime: e.RequestTime, ResponseTime: e.ResponseTime}
				rg = mrg
				h.Set("Content-Range", rg.ContentRange(size))
			}
		}
	}
	if rg.First == 0 && rg.Last == size-1 {
		h := e.Header.Clone()
		delete(h, "Content-Range")
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		e = &Entry{Status: http.StatusOK, Header: h, Body: e.Body, RequestTime: e.RequestTime, ResponseTime: e.ResponseTime}
	}
	e.StoreUntil = p.storeUntil(e)
	return e, true
}

// completePart handles the 206 that answers a completion request: the rest
// of the stored part. Combined, the whole representation is stored and
// served as a 200. It reports false when the answer does not complete the
// part (the caller then asks again for the whole representation); the
// response body has then been consumed.
func (p *Proxy) completePart(w *respWriter, r *http.Request, f fetch, resp *http.Response, reqTime, respTime time.Time) bool {
	h := resp.Header.Clone()
	httpcache.RemoveHopByHop(h)
	if len(h["Date"]) == 0 {
		h.Set("Date", httpcache.FormatHTTPDate(respTime))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.maxObject+1))
	if err != nil || int64(len(body)) > p.maxObject {
		return false
	}
	req := p.request(r)
	if ok, _ := httpcache.Storable(req, resp.StatusCode, h, p.targets); !ok {
		return false
	}
	e := &Entry{Status: resp.StatusCode, Header: http.Header(httpcache.StorageHeader(h, p.targets)), Body: body, RequestTime: reqTime, ResponseTime: respTime}
	e, ok := p.withPart(f.partial, e)
	if !ok || e.Status != http.StatusOK {
		return false
	}
	if err := p.cache.put(r.Context(), f.primary, r.Header, e); err != nil {
		p.log.Warn("cache store failed", "url", r.URL.String(), "err", err)
	} else {
		p.counters.stored.Add(1)
	}
	p.counters.misses.Add(1)
	// The stored entry keeps no cookies; the client whose request went
	// to the origin gets the ones its answer carried.
	for _, k := range []string{"Set-Cookie", "Set-Cookie2"} {
		if v := resp.Header[k]; len(v) > 0 {
			w.Header()[k] = v
		}
	}
	cs := httpcache.CacheStatus{Cache: p.name, Fwd: f.fwd, FwdStatus: http.StatusPartialContent, Stored: true, TTL: e.response(p.targets).TTL(respTime), HasTTL: true, Detail: "completed"}
	p.serveEntry(w, r, e, cs, false, "MISS")
	return true
}
