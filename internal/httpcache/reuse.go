package httpcache

import "time"

// Action is what a cache may do with a stored response for a request.
type Action int

const (
	// Unusable: the stored response must not answer this request at all
	// (Authorization rules, §3.5); forward as a miss.
	Unusable Action = iota
	// Fresh: serve without contacting the origin.
	Fresh
	// StaleAllowed: stale, but the request's max-stale accepts it (§5.2.1.2).
	StaleAllowed
	// StaleWhileRevalidate: stale within the response's
	// stale-while-revalidate window: serve it and revalidate in the
	// background (RFC 5861 §3).
	StaleWhileRevalidate
	// Revalidate: validate with the origin before use (§4.3).
	Revalidate
)

func (a Action) String() string {
	return [...]string{"unusable", "fresh", "stale-allowed", "stale-while-revalidate", "revalidate"}[a]
}

// Decision is the outcome of Reuse.
type Decision struct {
	Action Action
	Age    time.Duration // current age (§4.2.3)
	TTL    time.Duration // lifetime minus age; negative when stale
	// Reason says why a stored response was not served as is: "stale",
	// "request" (the client asked to go forward), "no-cache",
	// "authorization"; empty for Fresh.
	Reason string
}

// Served reports whether the decision lets the cache answer from storage
// without waiting for the origin.
func (d Decision) Served() bool {
	return d.Action == Fresh || d.Action == StaleAllowed || d.Action == StaleWhileRevalidate
}

// Reuse decides whether stored may answer req at now (RFC 9111 §4), for a
// shared cache. The caller has already matched the key and Vary.
func Reuse(req Request, stored *Response, now time.Time) Decision {
	sd := stored.Directives()
	rd := ParseCacheControl(req.Header)
	lifetime, _ := stored.Lifetime()
	age := stored.Age(now)
	dec := Decision{Age: age, TTL: lifetime - age}

	// §3.5: with Authorization, only responses a directive explicitly
	// made shareable may be used.
	if len(req.Header["Authorization"]) > 0 && !(sd.Public || sd.SMaxAge >= 0 || sd.MustRevalidate) {
		dec.Action, dec.Reason = Unusable, "authorization"
		return dec
	}
	if stored.varyStar() {
		dec.Action, dec.Reason = Unusable, "vary-star"
		return dec
	}
	fresh := dec.TTL > 0
	// RFC 8246: an immutable response does not change while fresh, so a
	// reload's max-age=0 need not reach the origin. Request no-cache still
	// does (§5.2.1.4 is a MUST).
	immutableFresh := sd.Immutable && fresh
	switch {
	case rd.NoCache || PragmaNoCache(req.Header):
		dec.Action, dec.Reason = Revalidate, "request"
		return dec
	case sd.NoCache:
		dec.Action, dec.Reason = Revalidate, "no-cache"
		return dec
	case rd.MaxAge >= 0 && age > rd.MaxAge && !immutableFresh:
		dec.Action, dec.Reason = Revalidate, "request"
		return dec
	case rd.MinFresh >= 0 && dec.TTL < rd.MinFresh:
		dec.Action, dec.Reason = Revalidate, "request"
		return dec
	case fresh:
		dec.Action = Fresh
		return dec
	}
	staleness := -dec.TTL
	// must-revalidate, proxy-revalidate and (for shared caches) s-maxage
	// forbid serving stale (§5.2.2.2, §5.2.2.8, §5.2.2.10).
	if !noStale(sd) {
		if rd.MaxStale >= 0 && staleness <= rd.MaxStale {
			dec.Action = StaleAllowed
			return dec
		}
		if sd.StaleWhileRevalidate >= 0 && staleness <= sd.StaleWhileRevalidate {
			dec.Action, dec.Reason = StaleWhileRevalidate, "stale"
			return dec
		}
	}
	dec.Action, dec.Reason = Revalidate, "stale"
	return dec
}

func (r *Response) varyStar() bool {
	if r.parsed != nil {
		return r.parsed.varyStar
	}
	_, star := VaryFields(r.Header)
	return star
}

func noStale(d Directives) bool { return d.MustRevalidate || d.ProxyRevalidate || d.SMaxAge >= 0 }

// StaleIfError reports whether stored may be served, stale, when the origin
// failed (an error, or a 500, 502, 503 or 504), per RFC 5861 §4 and the
// request's max-stale; never under must-revalidate and friends (§4.2.4:
// such a cache must generate an error instead), nor when either side said
// no-cache.
func StaleIfError(req Request, stored *Response, now time.Time) bool {
	sd := stored.Directives()
	if noStale(sd) || sd.NoCache {
		return false
	}
	rd := ParseCacheControl(req.Header)
	if rd.NoCache || PragmaNoCache(req.Header) {
		return false // §5.2.1.4: only a successful validation will do
	}
	staleness := -stored.TTL(now)
	if staleness <= 0 {
		return true
	}
	window := max(sd.StaleIfError, rd.StaleIfError, rd.MaxStale)
	return window >= 0 && staleness <= window
}

// ErrorStatus reports whether status counts as an origin error for
// stale-if-error (RFC 5861 §4).
func ErrorStatus(status int) bool {
	return status == 500 || status == 502 || status == 503 || status == 504
}
