package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// fetch says how forward treats one upstream exchange.
type fetch struct {
	fwd       string // Cache-Status fwd reason
	primary   string // primary cache key; "" never stores
	noStore   bool   // request no-store: use, but never store (§5.2.1.5)
	stored    *Entry // non-nil: revalidate this entry (conditional request)
	storedKey string // where stored lives
	headOf    *Entry // HEAD: the stored GET entry this response may update (§4.3.5)
	flight    *flight
	flightKey string
	flights   *flights

	codings []string // transfer codings relayed undecoded (decodeTransferCodings)

	partial  *Entry // a stored 206 a new part may combine with (partial.go)
	complete string // Range asking for the rest of partial
	ifRange  string // its strong validator, sent as If-Range
}

// release ends the coalescing flight this fetch leads, if any.
func (f *fetch) release() {
	if f.flight != nil {
		f.flights.finish(f.flightKey, f.flight)
	}
}

// conditionalFields are the request fields a cache replaces with its own
// validators when it revalidates, or strips to fill itself on a miss.
var conditionalFields = []string{"If-None-Match", "If-Modified-Since"}

// outgoing builds the upstream request: hop-by-hop fields removed (RFC 9110
// §7.6.1), Via added (§7.6.3), X-Forwarded-For in reverse mode.
func (p *Proxy) outgoing(ctx context.Context, r *http.Request, t *target) *http.Request {
	out := r.Clone(ctx)
	out.URL = t.url
	out.RequestURI = ""
	out.Host = r.Host
	if !t.reverse || out.Host == "" {
		out.Host = t.url.Host
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	out.Close = false
	httpcache.RemoveHopByHop(out.Header)
	out.Header.Add("Via", p.via)
	if t.reverse {
		// One field line, appended to what earlier proxies wrote (as
		// httputil.ReverseProxy does).
		xff := remoteIP(r)
		if prior := out.Header["X-Forwarded-For"]; len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + xff
		}
		out.Header["X-Forwarded-For"] = []string{xff}
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // no Go default added
	}
	return out
}

// forward sends r upstream and relays the answer, storing, refreshing or
// falling back to a stale entry as f says.
func (p *Proxy) forward(w *respWriter, r *http.Request, t *target, f fetch) {
	defer f.release()
	ctx := r.Context()
	out := p.outgoing(ctx, r, t)
	clientConditional := setConditionals(out, r, &f)
	out = out.WithContext(httptrace.WithClientTrace(out.Context(), p.interimTrace(w, r)))
	reqTime := p.now()
	resp, err := p.transportFor(t).RoundTrip(out)
	respTime := p.now()
	if err != nil {
		p.roundTripFailed(w, r, t, &f, err, respTime)
		return
	}
	defer resp.Body.Close()
	f.codings = decodeTransferCodings(resp)
	if f.complete != "" && resp.StatusCode == http.StatusPartialContent && len(f.codings) == 0 {
		if p.completePart(w, r, f, resp, reqTime, respTime) {
			return
		}
		resp.Body.Close()
		f.complete, f.partial = "", nil // ask again for the whole
		p.forward(w, r, t, f)
		return
	}
	if f.stored != nil {
		switch {
		case resp.StatusCode == http.StatusNotModified && httpcache.Selects304(f.stored.Header, resp.Header):
			p.refreshed(w, r, f, resp, reqTime, respTime)
			return
		case resp.StatusCode == http.StatusNotModified:
			// The 304 does not match what we hold (§4.3.4): drop the
			// entry and ask again without validators.
			_ = p.cache.store.Delete(ctx, f.storedKey)
			f.stored = nil
			p.forward(w, r, t, f)
			return
		case httpcache.ErrorStatus(resp.StatusCode) && httpcache.StaleIfError(p.request(r), f.stored.response(p.targets), respTime):
			p.serveStale(w, r, f.stored, resp.StatusCode, "stale-if-error")
			return
		}
	}
	p.relay(w, r, t, f, resp, reqTime, respTime, clientConditional)
}

// setConditionals sets the validators of the upstream request out as f
// says: the stored entry's, a Range for the part a stored 206 lacks, or none
// when the cache fills itself. It reports whether it took the client's own
// conditional away, to be answered from the full response.
func setConditionals(out, r *http.Request, f *fetch) (clientConditional bool) {
	switch {
	case f.stored != nil:
		for _, k := range conditionalFields {
			out.Header.Del(k)
		}
		for k, v := range httpcache.ConditionalHeader(f.stored.Header) {
			out.Header[k] = v
		}
	case f.complete != "":
		// Ask only for what the stored part lacks (RFC 9111 §3.4); If-Range
		// makes a changed representation come back whole.
		for _, k := range conditionalFields {
			out.Header.Del(k)
		}
		out.Header.Set("Range", f.complete)
		out.Header.Set("If-Range", f.ifRange)
	case f.primary != "" && !f.noStore && r.Method == http.MethodGet:
		// Fill the cache with a full response and answer the client's
		// own conditional from it (RFC 9111 §4.3.2).
		for _, k := range conditionalFields {
			if _, ok := out.Header[k]; ok {
				clientConditional = true
				out.Header.Del(k)
			}
		}
	}
	return clientConditional
}

// roundTripFailed answers a request whose upstream exchange failed: from a
// stale entry when stale-if-error allows, a 504 when the entry must be
// revalidated, else the upstream error.
func (p *Proxy) roundTripFailed(w *respWriter, r *http.Request, t *target, f *fetch, err error, respTime time.Time) {
	if r.Context().Err() != nil {
		p.clientGone(w)
	}
	if f.stored != nil && httpcache.StaleIfError(p.request(r), f.stored.response(p.targets), respTime) {
		p.counters.upstreamErrors.Add(1)
		p.serveStale(w, r, f.stored, 0, "stale-if-error")
		return
	}
	if f.stored != nil && p.mustRevalidate(f.stored) {
		// §5.2.2.2: a stale must-revalidate response that cannot be
		// validated is a 504, whatever the transport said.
		_, cause := p.classify(err)
		p.counters.upstreamErrors.Add(1)
		p.plainError(w, http.StatusGatewayTimeout, fmt.Sprintf("upstream %s: %s; the stored response must be revalidated", t.name, cause))
		return
	}
	p.upstreamError(w, r, t, err)
}

// interimTrace relays the upstream's 1xx responses (103 Early Hints, 102
// Processing, ...) to the client before the final one (RFC 9110 §15.2). Their
// fields go out with the interim response only: the header map is cleared
// after each, so nothing of them reaches the final response or the cache.
// 100 Continue is the server's own business (it answers Expect itself),
// 101 is a final answer to an Upgrade, and an HTTP/1.0 client gets none.
func (p *Proxy) interimTrace(w *respWriter, r *http.Request) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusContinue || code == http.StatusSwitchingProtocols || !r.ProtoAtLeast(1, 1) || w.status != 0 {
			return nil
		}
		out := w.Header()
		clear(out)
		for k, v := range h {
			out[k] = v
		}
		httpcache.RemoveHopByHop(out)
		w.ResponseWriter.WriteHeader(code)
		clear(out)
		return nil
	}}
}

func (p *Proxy) mustRevalidate(e *Entry) bool {
	d := e.response(p.targets).Directives()
	return d.MustRevalidate || d.ProxyRevalidate || d.SMaxAge >= 0
}

func (p *Proxy) request(r *http.Request) httpcache.Request {
	return httpcache.Request{Method: r.Method, Header: r.Header}
}

// relay streams a full upstream response to the client, storing it when
// RFC 9111 §3 allows and the body arrives complete.
func (p *Proxy) relay(w *respWriter, r *http.Request, t *target, f fetch, resp *http.Response, reqTime, respTime time.Time, clientConditional bool) {
	ctx := r.Context()
	h := resp.Header.Clone()
	httpcache.RemoveHopByHop(h)
	if len(h["Date"]) == 0 {
		// RFC 9110 §6.6.1: a recipient with a clock adds the Date it
		// received the response at; a present Date is never rewritten.
		h.Set("Date", httpcache.FormatHTTPDate(respTime))
	}
	store, detail := p.storable(r, t, &f, resp, h)
	if !store {
		f.release() // waiters need not wait for a body they will not get
	}
	if p.cache != nil {
		p.invalidateAfter(ctx, r, t, &f, resp.StatusCode, h, reqTime, respTime)
	}
	e := &Entry{Status: resp.StatusCode, Header: http.Header(httpcache.StorageHeader(h, p.targets)), RequestTime: reqTime, ResponseTime: respTime}
	age := e.response(p.targets).Age(respTime)
	cs := httpcache.CacheStatus{Cache: p.name, Fwd: f.fwd, FwdStatus: resp.StatusCode, Stored: store, Detail: detail}
	if store {
		lifetime, _ := e.response(p.targets).Lifetime()
		cs.TTL, cs.HasTTL = lifetime-age, true
	}
	dst := p.writeMissHeader(w, r, &f, resp, h, age, cs, clientConditional)
	var body []byte
	if store && resp.ContentLength > 0 {
		body = make([]byte, 0, resp.ContentLength)
	}
	wanted := store
	body, store, err := p.copyBody(dst, w, resp.Body, body, store, resp.ContentLength < 0)
	if err != nil {
		p.abortBody(ctx, w, t, &f, cs, err)
	}
	if wanted && !store {
		cs.Detail = "too-large"
	}
	p.storeMiss(ctx, w, r, t, &f, e, body, store, cs)
}

// storable says whether a miss's response may be stored, and when not, the
// Cache-Status detail that says why.
func (p *Proxy) storable(r *http.Request, t *target, f *fetch, resp *http.Response, h http.Header) (bool, string) {
	store := f.primary != "" && p.cache != nil && (r.Method == http.MethodGet || r.Method == http.MethodPost) && !f.noStore
	detail := ""
	if f.noStore {
		detail = "no-store"
	}
	if store {
		req := p.request(r)
		req.URI = t.keyURI
		store, detail = httpcache.Storable(req, resp.StatusCode, h, p.targets)
	}
	if store && resp.ContentLength > p.maxObject {
		store, detail = false, "too-large"
	}
	if store && len(f.codings) > 0 {
		store, detail = false, "transfer-coding" // a coded body is not the content
	}
	return store, detail
}

// invalidateAfter applies what a response does to other stored entries.
func (p *Proxy) invalidateAfter(ctx context.Context, r *http.Request, t *target, f *fetch, status int, h http.Header, reqTime, respTime time.Time) {
	// §4.4: an unsafe method's non-error response invalidates the
	// target and same-origin Location / Content-Location.
	for _, u := range httpcache.Invalidates(r.Method, status, t.keyURI, h) {
		_, _ = p.cache.invalidate(ctx, t.key(http.MethodGet, u))
	}
	if f.headOf != nil && status == http.StatusOK {
		p.headUpdate(ctx, *f, h, reqTime, respTime)
	}
}

// writeMissHeader sends the response header of a miss (a 304 when the
// client's own conditional matches) and returns where its body goes.
func (p *Proxy) writeMissHeader(w *respWriter, r *http.Request, f *fetch, resp *http.Response, h http.Header, age time.Duration, cs httpcache.CacheStatus, clientConditional bool) io.Writer {
	out := w.Header()
	for k, v := range h {
		out[k] = v
	}
	p.targets.Strip(out)
	if len(f.codings) > 0 {
		// Codings the proxy cannot decode go on to the client as they
		// came; net/http adds its own chunked after them.
		out["Transfer-Encoding"] = []string{strings.Join(f.codings, ", ")}
	}
	// Cache-Status leaves before the body, so it says only what is true
	// now: "stored" when the body's length is known to fit. A body of
	// unknown length may still outgrow --max-object-size (and any body may
	// be cut off, but then the client gets a broken message, never a
	// complete one marked stored). The access log gets the final verdict.
	sent := cs
	sent.Stored = cs.Stored && resp.ContentLength >= 0
	p.mark(out, age, sent, "MISS")
	p.counters.misses.Add(1)

	if clientConditional && resp.StatusCode == http.StatusOK && httpcache.NotModified(r.Header, h) {
		out.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return io.Discard
	}
	w.WriteHeader(resp.StatusCode)
	return w
}

// abortBody ends a response whose body could not be relayed whole; it
// does not return.
func (p *Proxy) abortBody(ctx context.Context, w *respWriter, t *target, f *fetch, cs httpcache.CacheStatus, err error) {
	var we *clientWriteError
	if errors.As(err, &we) || ctx.Err() != nil {
		// The client left; an incomplete body is never stored.
		f.release()
		p.clientGone(w)
	}
	// The upstream died mid-body. Close the client connection
	// without completing the message, so the client sees an error
	// rather than a truncated body it could take as whole.
	p.counters.upstreamErrors.Add(1)
	p.log.Warn("upstream body incomplete", "upstream", t.name, "url", t.keyURI, "err", err)
	cs.Stored, cs.HasTTL, cs.Detail = false, false, "incomplete"
	w.cs = cs.String()
	f.release()
	_ = http.NewResponseController(w).Flush() // what arrived, then the cut
	panic(http.ErrAbortHandler)
}

// storeMiss stores a relayed miss when it may be, and records the final
// Cache-Status for the access log.
func (p *Proxy) storeMiss(ctx context.Context, w *respWriter, r *http.Request, t *target, f *fetch, e *Entry, body []byte, store bool, cs httpcache.CacheStatus) {
	if store {
		e.Body = body
		e.StoreUntil = p.storeUntil(e)
		if e.Status == http.StatusPartialContent {
			if e, store = p.withPart(f.partial, e); !store {
				cs.Detail = "incomplete"
			}
		}
	}
	if store {
		if err := p.cache.put(ctx, f.primary, r.Header, e); err != nil {
			p.log.Warn("cache store failed", "url", t.keyURI, "err", err)
			store, cs.Detail = false, "store-failed"
		} else {
			p.counters.stored.Add(1)
		}
	}
	cs.Stored = store
	if !store {
		cs.HasTTL = false
	}
	w.cs = cs.String() // what the access log records
}

type clientWriteError struct{ err error }

func (e *clientWriteError) Error() string { return "write to client: " + e.err.Error() }
func (e *clientWriteError) Unwrap() error { return e.err }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyBody streams src to dst, keeping a copy in body while keep holds and
// the copy stays under the object size bound. flush pushes each piece to
// the client at once (bodies of unknown length, e.g. event streams).
func (p *Proxy) copyBody(dst io.Writer, w http.ResponseWriter, src io.Reader, body []byte, keep, flush bool) ([]byte, bool, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if keep {
				if int64(len(body)+n) > p.maxObject {
					keep, body = false, nil
				} else {
					body = append(body, buf[:n]...)
				}
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return nil, false, &clientWriteError{err}
			}
			if flush {
				_ = rc.Flush()
			}
		}
		if rerr == io.EOF {
			return body, keep, nil
		}
		if rerr != nil {
			return nil, false, rerr
		}
	}
}

// mark sets the fields every response carries: Age, Via, Cache-Status
// (RFC 9211) and X-Cache.
func (p *Proxy) mark(h http.Header, age time.Duration, cs httpcache.CacheStatus, verdict string) {
	// Direct map writes: the keys are canonical already.
	h["Age"] = []string{strconv.FormatInt(int64(age/time.Second), 10)}
	h["Via"] = append(slices.Clip(h["Via"]), p.via)
	h["Cache-Status"] = []string{cs.String()}
	h["X-Cache"] = []string{verdict}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // stop net/http sniffing one in
	}
}

// storeUntil is how long a store should keep e: its freshness, the
// stale windows it grants, and an hour more when it has validators.
func (p *Proxy) storeUntil(e *Entry) time.Time {
	r := e.response(p.targets)
	lifetime, _ := r.Lifetime()
	d := r.Directives()
	keep := lifetime - r.Age(e.ResponseTime) + max(d.StaleWhileRevalidate, d.StaleIfError, 0)
	if len(httpcache.ConditionalHeader(e.Header)) > 0 {
		keep += time.Hour
	}
	return e.ResponseTime.Add(max(keep, time.Second))
}

// upstreamError answers 502 or 504 (403 for a refused destination) with a
// body naming the upstream and the cause.
func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, t *target, err error) {
	status, cause := p.classify(err)
	kind := err
	switch {
	case errors.Is(err, ErrDestinationRefused):
		kind = ErrDestinationRefused
	case status == http.StatusGatewayTimeout:
		kind = ErrUpstreamTimeout
	case headerTooLarge(err):
		kind = ErrResponseHeaderTooLarge
	}
	if status == http.StatusForbidden {
		p.counters.denied.Add(1)
		p.fail(w, r, &Error{Status: status, Err: kind, Msg: fmt.Sprintf("destination %s: %s", t.name, cause)})
		return
	}
	p.counters.upstreamErrors.Add(1)
	p.log.Warn("upstream failed", "upstream", t.name, "status", status, "err", err)
	p.fail(w, r, &Error{Status: status, Err: kind, Msg: fmt.Sprintf("upstream %s: %s", t.name, cause)})
}

func (p *Proxy) classify(err error) (int, string) {
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, ErrDestinationRefused):
		return http.StatusForbidden, "refused: local destinations are not allowed"
	case headerTooLarge(err):
		return http.StatusBadGateway, fmt.Sprintf("response header section larger than the proxy's limit of %d bytes", p.maxRespHead)
	case errors.As(err, &dnsErr):
		return http.StatusBadGateway, "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return http.StatusBadGateway, "connection refused"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, fmt.Sprintf("no response within %s", p.timeout)
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadGateway, "connection closed before a response: " + err.Error()
	}
	return http.StatusBadGateway, err.Error()
}

// headerTooLarge reports whether err is net/http's Transport giving up on
// a response header section over MaxResponseHeaderBytes. It has no error
// value of its own, only this text (net/http/transport.go, readResponse);
// TestHostileOriginHeaderBomb fails if the text changes.
func headerTooLarge(err error) bool {
	return err != nil && strings.Contains(err.Error(), "server response headers exceeded")
}
