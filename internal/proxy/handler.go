package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// respWriter records what was sent, for the access log.
type respWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	cache  string // X-Cache verdict
	cs     string // Cache-Status
}

func (w *respWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.cache = w.Header().Get("X-Cache")
		w.cs = w.Header().Get("Cache-Status")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// target is where a request goes and what the cache calls it.
type target struct {
	url      *url.URL // the URL fetched upstream
	keyURI   string   // absolute target URI (RFC 9110 §7.1), the cache key
	reverse  bool
	upstream string // reverse: the configured upstream, naming the key space
	name     string // upstream host:port for error messages
}

// key is the cache key of a request for uri in t's key space: reverse
// entries never answer forward requests nor the other way round.
func (t *target) key(method, uri string) string {
	if t.reverse {
		return httpcache.ReverseKey(method, t.upstream, uri)
	}
	return httpcache.PrimaryKey(method, uri)
}

// resolveTarget maps a request to its target: absolute-form goes where it
// names (forward proxy), origin-form to Config.Upstream (reverse proxy).
func (p *Proxy) resolveTarget(r *http.Request) (*target, error) {
	if r.URL.IsAbs() {
		if r.URL.Scheme != "http" {
			return nil, fmt.Errorf("scheme %q is not proxied (use CONNECT for https)", r.URL.Scheme)
		}
		if r.URL.Host == "" {
			return nil, fmt.Errorf("absolute URI without a host")
		}
		u := *r.URL
		u.Fragment = ""
		return &target{url: &u, keyURI: u.String(), name: hostPort(&u)}, nil
	}
	if p.cfg.Upstream == nil {
		return nil, fmt.Errorf("origin-form request but no upstream is configured; send absolute-form (use me as HTTP_PROXY)")
	}
	up := p.cfg.Upstream
	u := &url.URL{Scheme: up.Scheme, Host: up.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	if up.Path != "" && up.Path != "/" {
		if escapesRoot(r.URL.Path) {
			return nil, fmt.Errorf("path %q climbs above the upstream's %s", r.URL.EscapedPath(), up.Path)
		}
		u.Path = path.Join(up.Path, r.URL.Path)
		u.RawPath = ""
	}
	host := r.Host
	if host == "" {
		host = up.Host
	}
	return &target{url: u, keyURI: "http://" + host + r.URL.RequestURI(), reverse: true, upstream: up.String(), name: hostPort(up)}, nil
}

// escapesRoot reports whether a decoded request path climbs above "/" at
// any point ("/../x", "/a/../../x"; "%2e%2e" and "%2f" arrive decoded).
// With an --upstream path prefix, such a path would leave the prefix once
// joined to it, so it is refused rather than cleaned (RFC 3986 §5.2.4
// removes dot-segments; an origin may resolve them differently). A
// backslash counts as a separator too: some origins treat it as one.
func escapesRoot(p string) bool {
	depth := 0
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		switch seg {
		case ".":
		case "..":
			if depth == 0 {
				return true
			}
			depth--
		default:
			depth++
		}
	}
	return false
}

// maxViaHops bounds how many socklab hops a request may already have
// crossed (Via, RFC 9110 §7.6.3) before it is taken for a loop.
const maxViaHops = 8

// loops reports whether a request would come back to this proxy: an
// absolute-form target naming the listener's own address, or a Via field
// showing too many socklab hops.
func (p *Proxy) loops(r *http.Request, t *target) bool {
	hops := 0
	for _, v := range r.Header.Values("Via") {
		hops += strings.Count(v, p.via)
	}
	if hops >= maxViaHops {
		return true
	}
	if t.reverse {
		return false
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lap, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return false
	}
	host, port := t.url.Hostname(), t.url.Port()
	if port == "" {
		port = "80"
	}
	if port != strconv.Itoa(int(lap.Port())) {
		return false
	}
	if host == "localhost" {
		return lap.Addr().IsLoopback()
	}
	a, err := netip.ParseAddr(host)
	return err == nil && (a.Unmap() == lap.Addr().Unmap() || a.IsUnspecified() || lap.Addr().IsUnspecified() && a.IsLoopback())
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return u.Host + ":443"
	}
	return u.Host + ":80"
}

// ServeHTTP proxies one request.
func (p *Proxy) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := p.now()
	w := &respWriter{ResponseWriter: rw}
	p.counters.requests.Add(1)
	// Deferred so the line is written even when an upstream dies mid-body
	// and the handler aborts the client connection.
	defer p.logAccess(w, r, start)
	if e, ok := p.guard.Rejection(r); ok {
		w.Header().Set("Connection", "close")
		p.plainError(w, e.Status, e.Reason)
		return
	}
	if guard.MustClose(r) {
		// Nothing after a chunked body, nor after a tunnel request that
		// is refused, is read as a request (RFC 9112 §6.1).
		w.Header().Set("Connection", "close")
	}
	if !p.clientAllowed(r.RemoteAddr) {
		p.counters.denied.Add(1)
		p.fail(w, r, &Error{Status: http.StatusForbidden, Err: ErrClientRefused,
			Msg: fmt.Sprintf("client %s is not in the proxy's allowed client list", remoteIP(r))})
		return
	}
	if r.Method == http.MethodConnect {
		p.serveConnect(w, r)
		return
	}
	t, err := p.resolveTarget(r)
	if err != nil {
		p.plainError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.loops(r, t) {
		p.plainError(w, http.StatusLoopDetected, "request loop: "+t.keyURI+" leads back to this proxy")
		return
	}
	if len(r.TransferEncoding) > 0 {
		body := p.bufferBody(w, r)
		if body == nil {
			return
		}
		defer body.Close()
	}
	if upgradeRequested(r) {
		p.serveUpgrade(w, r, t)
		return
	}
	switch {
	case r.Method == "PURGE":
		p.servePurge(w, r, t)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && p.cache != nil:
		p.serveCacheable(w, r, t)
	default:
		f := fetch{fwd: httpcache.FwdMethod}
		if p.cache == nil {
			f.fwd = httpcache.FwdBypass
		} else if r.Method == http.MethodPost {
			// A POST response may be stored for later GETs (RFC 9110
			// §9.3.3); relay decides with httpcache.Storable.
			f.primary = t.key(http.MethodGet, t.keyURI)
			f.noStore = httpcache.ParseCacheControl(r.Header).NoStore
		}
		p.forward(w, r, t, f)
	}
}

func (p *Proxy) logAccess(w *respWriter, r *http.Request, start time.Time) {
	u := r.URL.String()
	if r.Method == http.MethodConnect {
		u = r.Host
	} else if !r.URL.IsAbs() {
		u = "http://" + r.Host + r.URL.RequestURI()
	}
	p.emitAccess(AccessEntry{Time: start, Client: remoteIP(r), Method: r.Method, URL: u, Status: w.status, Bytes: w.bytes, Duration: p.now().Sub(start), Cache: w.cache, CacheStatus: w.cs})
}

// emitAccess hands e to the metrics and the access log.
func (p *Proxy) emitAccess(e AccessEntry) {
	if p.reqm != nil {
		p.reqm.observe(e)
	}
	if p.cfg.AccessLog != nil {
		p.cfg.AccessLog(e)
		return
	}
	p.log.Info("request", "client", e.Client, "method", e.Method, "url", e.URL, "status", e.Status, "bytes", e.Bytes, "duration", e.Duration, "cache", e.Cache)
}

// FormatAccess renders an entry as one access-log line.
func FormatAccess(e AccessEntry) string {
	cache := e.Cache
	if cache == "" {
		cache = "-"
	}
	return fmt.Sprintf("%s %s %s %s %d %d %.3fms %s", e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), e.Client, e.Method, e.URL, e.Status, e.Bytes, float64(e.Duration)/float64(time.Millisecond), cache)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// StatusClientClosed is what the access log records for a request whose
// client went away before its response began (nginx's 499). It is never
// sent: there is nobody to send it to.
const StatusClientClosed = 499

// clientGone ends a request whose client has left (its context ended, or a
// write to it failed). Nothing more is written: a handler that returned
// instead would have net/http make up an empty 200. The log records 499
// unless a status was already sent. It does not return.
func (p *Proxy) clientGone(w *respWriter) {
	if w.status == 0 {
		w.status = StatusClientClosed
	}
	panic(http.ErrAbortHandler) // close the connection, write nothing
}

// plainError answers with a short readable text body, marked as a miss.
func (p *Proxy) plainError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Status", httpcache.CacheStatus{Cache: p.name, Fwd: httpcache.FwdBypass, Detail: strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "-")}.String())
	h.Set("X-Cache", "MISS")
	h.Set("Age", "0")
	h.Add("Via", p.via)
	w.WriteHeader(status)
	fmt.Fprintf(w, "socklab proxy: %d %s: %s\n", status, http.StatusText(status), msg)
}

// servePurge removes a URL from the cache: 200 when something was stored,
// 404 otherwise (Squid's and Varnish's convention).
func (p *Proxy) servePurge(w http.ResponseWriter, r *http.Request, t *target) {
	if p.cache == nil {
		p.plainError(w, http.StatusNotFound, "the cache is off")
		return
	}
	p.counters.purges.Add(1)
	primary := t.key(http.MethodGet, t.keyURI)
	found, err := p.cache.invalidate(r.Context(), primary)
	if err == nil && !found {
		// A shared tier that cannot be reached reads as a miss; the
		// delete tells, so every such PURGE answers 503 (the other
		// proxies may still hold the object), not just the first.
		err = p.cache.store.Delete(r.Context(), primary)
	}
	if err != nil {
		p.plainError(w, http.StatusServiceUnavailable, "purge "+t.keyURI+": "+err.Error())
		return
	}
	status := http.StatusOK
	if !found {
		status = http.StatusNotFound
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Status", httpcache.CacheStatus{Cache: p.name, Fwd: httpcache.FwdBypass, Detail: "purge"}.String())
	h.Set("X-Cache", "MISS")
	h.Set("Age", "0")
	w.WriteHeader(status)
	if found {
		fmt.Fprintf(w, "purged %s\n", t.keyURI)
	} else {
		fmt.Fprintf(w, "not in cache: %s\n", t.keyURI)
	}
}
