package httpcache

import (
	"net/url"
	"strings"
)

// Request is what the policy needs to know about a request.
type Request struct {
	Method string
	Header Header
	URI    string // absolute target URI; needed only for POST storage
}

// hopByHop are the fields a proxy never forwards or stores (RFC 9110 §7.6.1),
// besides the ones a Connection field names. Proxy-Authenticate and
// Proxy-Authorization belong to the proxy hop.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// RemoveHopByHop deletes from h the fields named in its Connection field
// lines and the standard hop-by-hop fields (RFC 9110 §7.6.1). Fields named
// in Connection are therefore never forwarded nor stored (RFC 9111 §3.1).
func RemoveHopByHop(h Header) {
	for _, name := range listMembers(h, "Connection") {
		delete(h, CanonicalKey(name))
	}
	for _, name := range hopByHop {
		delete(h, name)
	}
}

// understoodStatus reports whether this cache implements the caching rules
// of the final status code, for must-understand (RFC 9111 §5.2.2.3). A
// switch, not a map: a map literal is built at every start of every
// socklab command (issue 15).
func understoodStatus(status int) bool {
	switch status {
	case 200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// Storable reports whether a shared cache with target list t may store a
// response to req (RFC 9111 §3), and why not when it may not. Reasons are
// short tokens suitable for a Cache-Status detail.
func Storable(req Request, status int, h Header, t Targets) (ok bool, reason string) {
	d, targeted := t.Directives(h)
	explicit := d.MaxAge >= 0 || d.SMaxAge >= 0 || len(h["Expires"]) > 0 && !targeted
	switch {
	case req.Method == "GET":
	case req.Method == "POST" && explicit && ContentLocationIsTarget(req.URI, h):
		// RFC 9110 §9.3.3: a POST response with explicit freshness and
		// Content-Location equal to the target is a GET response for it.
	default:
		return false, "method"
	}
	// A 206 is stored as a part when its one range and complete length
	// are known (§3.3); 304 is never a complete response; 1xx is not final.
	if status < 200 || status == 304 {
		return false, "status"
	}
	if _, _, ok := ParseContentRange(get(h, "Content-Range")); status == 206 && !ok {
		return false, "status"
	}
	if ParseCacheControl(req.Header).NoStore {
		return false, "no-store"
	}
	// §5.2.2.3: must-understand limits storage to status codes whose
	// rules the cache knows, and for those no-store is to be ignored.
	if d.MustUnderstand && !understoodStatus(status) {
		return false, "must-understand"
	}
	if d.NoStore && !d.MustUnderstand {
		return false, "no-store"
	}
	if d.Private {
		return false, "private"
	}
	// §3.5: a response to a request with Authorization is only stored by
	// a shared cache when a directive explicitly allows it.
	if len(req.Header["Authorization"]) > 0 && !(d.Public || d.SMaxAge >= 0 || d.MustRevalidate) {
		return false, "authorization"
	}
	if _, star := VaryFields(h); star {
		return false, "vary-star"
	}
	if !explicit && !d.Public && !HeuristicallyCacheable(status) {
		return false, "no-freshness"
	}
	return true, ""
}

// perClient are response fields meant for the one client whose request
// reached the origin. A shared cache may reuse the response (RFC 9111 §3
// does not forbid it) but never hands these to another client (§7.3: a
// stored Set-Cookie would give every later client the first one's session).
var perClient = []string{"Set-Cookie", "Set-Cookie2"}

// ContentLocationIsTarget reports whether the response's Content-Location,
// resolved against the absolute target URI, names the target itself.
func ContentLocationIsTarget(target string, h Header) bool {
	cl := get(h, "Content-Location")
	if cl == "" || target == "" {
		return false
	}
	base, err := url.Parse(target)
	if err != nil || !base.IsAbs() {
		return false
	}
	ref, err := url.Parse(cl)
	if err != nil {
		return false
	}
	u := base.ResolveReference(ref)
	u.Fragment = ""
	return u.String() == base.String()
}

// StorageHeader returns a copy of h without the fields a shared cache must
// not store: hop-by-hop fields and those named in Connection (§3.1), the
// fields named by a qualified private directive (§5.2.2.7), and the
// per-client cookies (Set-Cookie, Set-Cookie2).
// t is the cache's target list (RFC 9213), whose field may name them.
func StorageHeader(h Header, t Targets) Header {
	out := CloneHeader(h)
	RemoveHopByHop(out)
	for _, f := range perClient {
		delete(out, f)
	}
	d, _ := t.Directives(h)
	for _, f := range d.PrivateFields {
		delete(out, f)
	}
	return out
}

// ReuseHeader returns a copy of a stored header fit to send without
// revalidation: fields named by a qualified no-cache directive must not be
// sent without a successful validation (§5.2.2.4).
func ReuseHeader(h Header) Header {
	out := CloneHeader(h)
	for _, f := range ParseCacheControl(h).NoCacheFields {
		delete(out, f)
	}
	return out
}

// VaryFields returns the canonical field names listed in Vary across all its
// field lines, and whether any member is "*" (§4.1: never reused).
func VaryFields(h Header) (fields []string, star bool) {
	for _, m := range listMembers(h, "Vary") {
		if m == "*" {
			star = true
			continue
		}
		f := CanonicalKey(m)
		dup := false
		for _, g := range fields {
			dup = dup || g == f
		}
		if !dup {
			fields = append(fields, f)
		}
	}
	return fields, star
}

// unsafe reports whether method is not safe (RFC 9110 §9.2.1); unknown
// methods count as unsafe.
func unsafe(method string) bool {
	switch strings.ToUpper(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}
