package httpcache

// CDNCacheControl is the targeted cache-control field every CDN-like cache
// obeys (RFC 9213 §3), in canonical form.
const CDNCacheControl = "Cdn-Cache-Control"

// Targets is a cache's target list (RFC 9213 §2.2): the targeted
// cache-control fields it obeys, most specific first, canonical names.
// Nil means none: only Cache-Control counts.
type Targets []string

// NewTargets returns the target list of a shared cache that obeys
// CDN-Cache-Control and, before it, the named field when own is not
// empty (e.g. "Socklab-Cache-Control").
func NewTargets(own string) Targets {
	if own == "" || CanonicalKey(own) == CDNCacheControl {
		return Targets{CDNCacheControl}
	}
	return Targets{CanonicalKey(own), CDNCacheControl}
}

// Directives returns the response directives that govern a cache with
// target list t (RFC 9213 §2.2): those of the first targeted field in t
// that is present with a valid, non-empty value — Cache-Control and
// Expires are then ignored (targeted reports true) — else Cache-Control's.
func (t Targets) Directives(h Header) (d Directives, targeted bool) {
	for _, name := range t {
		if lines := h[name]; len(lines) > 0 {
			if d, ok := parseTargeted(lines); ok {
				return d, true
			}
		}
	}
	return ParseCacheControl(h), false
}

// parseTargeted reads a targeted field (RFC 9213 §2.1): a structured-field
// Dictionary whose members are Cache-Control response directives. A field
// that does not parse, is empty, or gives a known directive a value of the
// wrong type is invalid as a whole (ok false), so the next field in the
// target list, or Cache-Control, applies. Unknown directives are ignored.
func parseTargeted(lines []string) (Directives, bool) {
	keys, vals, ok := parseSFDictionary(lines)
	d := Directives{MaxAge: -1, SMaxAge: -1, MinFresh: -1, MaxStale: -1, StaleWhileRevalidate: -1, StaleIfError: -1}
	if !ok || len(keys) == 0 {
		return d, false
	}
	for _, k := range keys {
		v := vals[k]
		switch k {
		case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
			if v.kind != sfInteger || v.i < 0 {
				return d, false
			}
			sec := ParseDeltaInt(v.i)
			switch k {
			case "max-age":
				d.MaxAge = sec
			case "s-maxage":
				d.SMaxAge = sec
			case "stale-while-revalidate":
				d.StaleWhileRevalidate = sec
			default:
				d.StaleIfError = sec
			}
		case "no-cache", "private":
			var fields []string
			switch {
			case v.kind == sfString:
				fields = fieldNames(v.s)
			case v.kind != sfBool || !v.b:
				return d, false
			}
			if k == "no-cache" {
				d.NoCache, d.NoCacheFields = fields == nil, fields
			} else {
				d.Private, d.PrivateFields = fields == nil, fields
			}
		default:
			if flag := targetedFlag(&d, k); flag != nil {
				if v.kind != sfBool {
					return d, false
				}
				*flag = v.b
			}
		}
	}
	return d, true
}

// targetedFlag points at the boolean directive k of d, nil when k is not one.
func targetedFlag(d *Directives, k string) *bool {
	switch k {
	case "no-store":
		return &d.NoStore
	case "public":
		return &d.Public
	case "must-revalidate":
		return &d.MustRevalidate
	case "proxy-revalidate":
		return &d.ProxyRevalidate
	case "must-understand":
		return &d.MustUnderstand
	case "no-transform":
		return &d.NoTransform
	case "immutable":
		return &d.Immutable
	}
	return nil
}

// Strip deletes the targeted fields of t from h: they speak to this cache
// and are not forwarded downstream (RFC 9213 §2.2 lets a cache remove them).
func (t Targets) Strip(h Header) {
	for _, name := range t {
		delete(h, name)
	}
}
