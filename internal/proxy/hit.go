package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/socklab/socklab/internal/httpcache"
)

// hitHead is a stored response's head as a hit sends it, serialized once
// (Varnish keeps its objects' heads the same way): the status line and
// every field but the three that change with each hit (Age, Cache-Status,
// and Connection when the client closes), without the blank line.
type hitHead struct {
	owner *Proxy // built for this proxy's name, Via and targets
	b     []byte
	nm    []byte // the same as a 304 (RFC 9110 §15.4.5): no Content-Length nor Content-Type, as net/http sends it
}

// hitHead returns e's serialized head for p, building it on first use.
// The fields are the ones serveEntry sends on a reuse without validation:
// the stored ones less those a qualified no-cache names (RFC 9111
// §5.2.2.4) and the targeted cache-control fields (RFC 9213), plus Via,
// X-Cache and Content-Length. Like net/http, fields go out sorted.
func (e *Entry) hitHead(p *Proxy) *hitHead {
	if h := e.hit.Load(); h != nil && h.owner == p {
		return h
	}
	meta := e.response(p.targets)
	skip := meta.Directives().NoCacheFields
	h := http.Header{}
	for k, v := range e.Header {
		if !slices.Contains(skip, k) {
			h[k] = v
		}
	}
	p.targets.Strip(h)
	for _, k := range []string{"Age", "Cache-Status", "X-Cache", "Content-Length", "Connection"} {
		delete(h, k)
	}
	h["Via"] = append(slices.Clip(h["Via"]), p.via)
	h["X-Cache"] = []string{"HIT"}
	if e.Status >= 200 && e.Status != http.StatusNoContent {
		h["Content-Length"] = []string{strconv.Itoa(len(e.Body))}
	}
	hh := &hitHead{owner: p, b: appendHead200(nil, e.Status, h)}
	delete(h, "Content-Length")
	delete(h, "Content-Type")
	hh.nm = appendHead200(nil, http.StatusNotModified, h)
	e.hit.Store(hh)
	return hh
}

// appendHead200 appends the status line and the fields of h, sorted.
func appendHead200(b []byte, status int, h http.Header) []byte {
	b = append(b, "HTTP/1.1 "+strconv.Itoa(status)+" "...)
	if text := http.StatusText(status); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "+strconv.Itoa(status)...)
	}
	b = append(b, "\r\n"...)
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, strings.NewReplacer("\r", " ", "\n", " ").Replace(strings.TrimSpace(v))...)
			b = append(b, "\r\n"...)
		}
	}
	return b
}

// serveHit answers the current request from the cache when it is a GET or
// HEAD that a fresh stored response answers as it stands: nothing in the
// request bears on the reuse decision (no Cache-Control, Pragma,
// Authorization, Range, If-Match, Via, Upgrade, body), the stored response
// is a complete one (under the primary key, or under Vary's secondary key
// when the request's fields select a stored variant), and the target maps
// to the same key the full path would build. If-None-Match and
// If-Modified-Since are answered here too: 304 when they match (RFC 9110
// §13.2.2, RFC 9111 §4.3.2), the full response otherwise. An HTTP/1.0
// request is answered with an HTTP/1.0 status line and keeps its
// connection only when it asked to (RFC 9112 §9.3). Anything else is left
// to the full path, which gives the same answer more slowly. served
// reports whether it answered; keep whether the connection stays open.
func (fc *fconn) serveHit() (served, keep bool) {
	p := fc.f.p
	method, http10, keep, ok := fc.hitRequest()
	if !ok {
		return false, false
	}
	uri := fc.hdr.RequestURI()
	if !fc.hitKey(uri) {
		return false, false
	}
	start := p.now()
	e := fc.hitEntry()
	if e == nil {
		return false, false
	}
	dec := httpcache.Reuse(httpcache.Request{Method: method}, e.response(p.targets), start)
	if dec.Action != httpcache.Fresh {
		return false, false
	}
	p.counters.requests.Add(1)
	p.counters.hits.Add(1)
	p.counters.fastHits.Add(1)
	hh := e.hitHead(p)
	head, status := hh.b, e.Status
	if e.Status == http.StatusOK && fc.cond() && httpcache.NotModified(fc.condHdr, e.Header) {
		head, status = hh.nm, http.StatusNotModified
	}
	b := fc.out[:0]
	if http10 {
		b = append(append(b, "HTTP/1.0"...), head[len("HTTP/1.1"):]...)
	} else {
		b = append(b, head...)
	}
	b = append(b, "Age: "...)
	b = strconv.AppendInt(b, int64(e.response(p.targets).Age(start)/time.Second), 10)
	csStart := len(b) + len("\r\nCache-Status: ")
	b = append(b, "\r\nCache-Status: "...)
	b = append(b, p.name...)
	b = append(b, "; hit; ttl="...)
	b = strconv.AppendInt(b, int64(dec.TTL/time.Second), 10)
	csEnd := len(b)
	switch {
	case http10 && keep:
		b = append(b, "\r\nConnection: keep-alive"...)
	case !http10 && !keep:
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	fc.out = b
	var sent int64
	if _, err := fc.bw.Write(b); err != nil {
		return true, false
	}
	if method == http.MethodGet && bodyAllowed(status) {
		n, err := fc.bw.Write(e.Body)
		sent = int64(n)
		if err != nil {
			keep = false
		}
	}
	if p.accessWanted() {
		p.emitAccess(AccessEntry{Time: start, Client: fc.client, Method: method, URL: fc.accessURL(uri), Status: status, Bytes: sent, Duration: p.now().Sub(start), Cache: "HIT", CacheStatus: string(b[csStart:csEnd])})
	}
	return true, keep
}

// hitRequest looks at the current request for the fast path: its method,
// whether it is HTTP/1.0, whether the connection stays open after it, and
// whether the fast path may answer it at all. The conditional fields it
// finds are kept in fc.inm and fc.ims.
func (fc *fconn) hitRequest() (method string, http10, keep, ok bool) {
	h := &fc.hdr
	if cl := h.ContentLength(); fc.f.p.cache == nil || !fc.allowed || cl != 0 && cl != -2 {
		return "", false, false, false
	}
	switch {
	case h.IsHTTP11():
	case bytes.Equal(h.Protocol(), []byte("HTTP/1.0")):
		http10 = true
	default:
		return "", false, false, false
	}
	switch {
	case h.IsGet():
		method = http.MethodGet
	case h.IsHead():
		method = http.MethodHead
	default:
		return "", false, false, false
	}
	fc.inm, fc.ims = fc.inm[:0], fc.ims[:0]
	closing, alive := false, false
	for k, v := range h.All() {
		switch hitField(k, v) {
		case fieldBridge:
			return "", false, false, false
		case fieldClose:
			closing = true
		case fieldKeepAlive:
			alive = true
		case fieldIfNoneMatch:
			fc.inm = append(fc.inm, b2s(v))
		case fieldIfModifiedSince:
			fc.ims = append(fc.ims, b2s(v))
		}
	}
	// RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only
	// with "keep-alive" (net/http's rule, which the full path follows).
	keep = !closing && (!http10 || alive)
	return method, http10, keep, true
}

// cond reports whether the request is conditional, and sets fc.condHdr to
// its conditional fields for httpcache.NotModified (views into the
// request head: no copies).
func (fc *fconn) cond() bool {
	if len(fc.inm) == 0 && len(fc.ims) == 0 {
		return false
	}
	if fc.condHdr == nil {
		fc.condHdr = http.Header{}
	}
	clear(fc.condHdr)
	if len(fc.inm) > 0 {
		fc.condHdr["If-None-Match"] = fc.inm
	}
	if len(fc.ims) > 0 {
		fc.condHdr["If-Modified-Since"] = fc.ims
	}
	return true
}

// hitEntry looks up the stored response for fc.key: the entry itself, or
// through a Vary marker the variant the request's fields select (RFC 9111
// §4.1). Nil when there is none the fast path can serve (a language
// alias, a part, a lookup error: the full path decides).
func (fc *fconn) hitEntry() *Entry {
	store := fc.f.p.cache.store
	e, err := store.Get(context.Background(), b2s(fc.key))
	if err != nil {
		return nil
	}
	if e.IsMarker() {
		key := variantKey(b2s(fc.key), e.VaryID, httpcache.SecondaryKey(e.VaryFields, fc.varyHeader(e.VaryFields)))
		if e, err = store.Get(context.Background(), key); err != nil || e.IsMarker() {
			return nil
		}
	}
	if e.Status == http.StatusPartialContent {
		return nil
	}
	return e
}

// varyHeader is the request's fields named by a Vary marker, as
// httpcache.SecondaryKey reads them: canonical names, field lines in
// order.
func (fc *fconn) varyHeader(fields []string) http.Header {
	if fc.varyHdr == nil {
		fc.varyHdr = http.Header{}
	}
	clear(fc.varyHdr)
	for _, name := range fields {
		canon := httpcache.CanonicalKey(name)
		for k, v := range fc.hdr.All() {
			if bytes.EqualFold(k, []byte(canon)) {
				fc.varyHdr[canon] = append(fc.varyHdr[canon], b2s(v))
			}
		}
	}
	return fc.varyHdr
}

// b2s views b as a string without a copy; valid while b is.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Field classes for the fast path.
const (
	fieldPass = iota
	fieldBridge
	fieldClose
	fieldKeepAlive
	fieldIfNoneMatch
	fieldIfModifiedSince
)

// hitField classifies a request field: whether it keeps the request off
// the fast path, closes the connection after it, or does not matter to a
// fresh hit.
func hitField(k, v []byte) int {
	if len(k) == 0 {
		return fieldBridge
	}
	switch k[0] | 0x20 {
	case 'a':
		if asciiEq(k, "Authorization") {
			return fieldBridge
		}
	case 'c':
		if asciiEq(k, "Cache-Control") {
			return fieldBridge
		}
		if asciiEq(k, "Connection") {
			return connectionField(v)
		}
		if asciiEq(k, "Content-Length") || asciiEq(k, "Content-Type") {
			return fieldBridge // a GET with a body: let net/http frame it
		}
	case 'e':
		if asciiEq(k, "Expect") {
			return fieldBridge
		}
	case 'i':
		switch {
		case asciiEq(k, "If-None-Match"):
			return fieldIfNoneMatch
		case asciiEq(k, "If-Modified-Since"):
			return fieldIfModifiedSince
		case len(k) > 3 && (k[1]|0x20) == 'f' && k[2] == '-':
			return fieldBridge // other conditionals: If-Match, If-Range, ...
		}
	case 'p':
		if asciiEq(k, "Pragma") {
			return fieldBridge
		}
	case 'r':
		if asciiEq(k, "Range") {
			return fieldBridge
		}
	case 's':
		if asciiEq(k, "Socklab-Frame-Reject") {
			return fieldBridge // the guard's stand-in for a refused request
		}
	case 't':
		if asciiEq(k, "Transfer-Encoding") || asciiEq(k, "Te") || asciiEq(k, "Trailer") {
			return fieldBridge
		}
	case 'u':
		if asciiEq(k, "Upgrade") {
			return fieldBridge
		}
	case 'v':
		if asciiEq(k, "Via") {
			return fieldBridge // loop detection counts hops
		}
	}
	return fieldPass
}

// connectionField: "close" ends the connection after the hit (it wins over
// keep-alive); tokens other than keep-alive and close go the full way.
func connectionField(v []byte) int {
	class := fieldPass
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte{','})
		tok = bytes.TrimSpace(tok)
		switch {
		case len(tok) == 0:
		case asciiEq(tok, "keep-alive"):
			if class == fieldPass {
				class = fieldKeepAlive
			}
		case asciiEq(tok, "close"):
			class = fieldClose
		default:
			return fieldBridge
		}
	}
	return class
}

func asciiEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}

// hitKey builds in fc.key the cache key the full path would build for a
// request to uri (handler.go's resolveTarget and target.key), when uri is
// plain enough for the two to agree byte for byte: no percent-encoding, no
// dot segment, no backslash, a lower-case http scheme. It reports false
// otherwise, and for targets the full path refuses or treats specially
// (another scheme, a forward request naming this listener).
func (fc *fconn) hitKey(uri []byte) bool {
	p := fc.f.p
	if !plainURI(uri) {
		return false
	}
	k := fc.key[:0]
	switch {
	case len(uri) > 0 && uri[0] == '/':
		up := p.cfg.Upstream
		if up == nil {
			return false
		}
		host := fc.hdr.Host()
		if len(host) == 0 || !plainHost(host) {
			return false // no Host: the full path answers 400
		}
		k = append(k, "@reverse "...)
		k = append(k, p.upstreamKey...)
		k = append(k, " GET http://"...)
		k = append(k, host...)
		k = append(k, uri...)
	case bytes.HasPrefix(uri, []byte("http://")):
		hostport, _, _ := bytes.Cut(uri[len("http://"):], []byte{'/'})
		if !plainHost(hostport) || fc.mayLoop(hostport) {
			return false
		}
		k = append(k, "GET "...)
		k = append(k, uri...)
	default:
		return false
	}
	fc.key = k
	return true
}

// mayLoop reports whether a forward target could name this listener (the
// full path answers 508 then): same port, whatever the host.
func (fc *fconn) mayLoop(hostport []byte) bool {
	port := []byte("80")
	if i := bytes.LastIndexByte(hostport, ':'); i >= 0 && bytes.IndexByte(hostport[i:], ']') < 0 {
		port = hostport[i+1:]
	}
	n, err := strconv.Atoi(unsafe.String(unsafe.SliceData(port), len(port)))
	return err != nil || n == int(fc.local.Port())
}

// accessURL is the URL the access log records, as logAccess writes it.
func (fc *fconn) accessURL(uri []byte) string {
	if len(uri) > 0 && uri[0] == '/' {
		return "http://" + string(fc.hdr.Host()) + string(uri)
	}
	return string(uri)
}

func plainURI(u []byte) bool {
	if len(u) == 0 {
		return false
	}
	for i, c := range u {
		if !plainByte(c) && c != '?' && c != '=' && c != '&' && c != '@' && c != '+' && c != ',' && c != ';' && c != '!' && c != '*' && c != '$' {
			return false
		}
		if c == '.' && i > 0 && u[i-1] == '/' {
			return false // a dot segment, or a name the prefix check would weigh
		}
	}
	return true
}

func plainHost(h []byte) bool {
	for _, c := range h {
		if !plainByte(c) || c == '/' {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == ':' || c == '[' || c == ']'
}

// accessWanted reports whether anyone takes access entries, so that a
// hit builds none (and allocates nothing) when no one does.
func (p *Proxy) accessWanted() bool {
	return p.cfg.AccessLog != nil || p.reqm != nil || p.log.Enabled(context.Background(), slog.LevelInfo)
}
