package load

import (
	"net/http"
	"strings"

	"github.com/socklab/socklab/internal/load/loadresult"
)

// Cache verdicts returned by CacheVerdict (see loadresult).
const (
	CacheHit         = loadresult.CacheHit
	CacheMiss        = loadresult.CacheMiss
	CacheRevalidated = loadresult.CacheRevalidated
)

// IsCacheHit reports whether a verdict means the body came from the cache.
func IsCacheHit(verdict string) bool { return loadresult.IsCacheHit(verdict) }

// CacheVerdict reads a proxy's cache verdict from a response: the RFC 9211
// Cache-Status field first, then the older X-Cache. It returns "" when the
// response carries neither (no cache on the path).
//
// Cache-Status is a list with one member per cache, the one nearest the
// client last (RFC 9211 §2), so the last member decides what this client got.
func CacheVerdict(h http.Header) string {
	if vs := h.Values("Cache-Status"); len(vs) > 0 {
		if v := verdictFromCacheStatus(vs[len(vs)-1]); v != "" {
			return v
		}
	}
	if v := h.Get("X-Cache"); v != "" {
		// Squid and others write "HIT from host"; keep the first word.
		word, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		return strings.ToUpper(word)
	}
	return ""
}

// verdictFromCacheStatus decodes the last member of a Cache-Status field
// value, e.g. `socklab; hit` or `socklab; fwd=uri-miss; stored`.
func verdictFromCacheStatus(field string) string {
	members := splitOutsideQuotes(field, ',')
	if len(members) == 0 {
		return ""
	}
	params := splitOutsideQuotes(members[len(members)-1], ';')
	if len(params) < 2 { // a cache name with no parameter says nothing
		return ""
	}
	var hit bool
	var fwd, fwdStatus string
	for _, p := range params[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "hit":
			// A bare "hit" is the boolean true (RFC 8941 §3.1.2); "hit=?0" is false.
			hit = v == "" || v == "?1"
		case "fwd":
			fwd = strings.ToLower(strings.TrimSpace(v))
		case "fwd-status":
			fwdStatus = strings.TrimSpace(v)
		}
	}
	switch {
	case hit:
		return CacheHit
	case fwd == "stale" && fwdStatus == "304":
		return CacheRevalidated
	case fwd != "":
		return CacheMiss
	}
	return ""
}

// splitOutsideQuotes splits s at sep, ignoring separators inside a quoted
// string (Cache-Status "detail" parameters may hold commas).
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	inQuote, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	out = append(out, s[start:])
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}
