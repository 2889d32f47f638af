package httpcache

import (
	"strconv"
	"strings"
	"time"
)

// MaxDelta is the value a delta-seconds larger than a cache can represent is
// taken to be (RFC 9111 §1.2.2): 2^31 seconds.
const MaxDelta = 2147483648 * time.Second

// Directives is a parsed Cache-Control field (RFC 9111 §5.2), request or
// response. Durations are -1 when the directive is absent.
type Directives struct {
	NoStore         bool
	NoCache         bool     // unqualified no-cache, or no-cache="" (§5.2.2.4)
	NoCacheFields   []string // qualified no-cache="a, b": canonical field names
	Private         bool     // unqualified private
	PrivateFields   []string // qualified private="a, b": canonical field names
	Public          bool
	MustRevalidate  bool
	ProxyRevalidate bool
	MustUnderstand  bool
	NoTransform     bool
	Immutable       bool // RFC 8246
	OnlyIfCached    bool

	MaxAge               time.Duration
	SMaxAge              time.Duration
	MinFresh             time.Duration
	MaxStale             time.Duration // -1 absent; MaxDelta for max-stale without a value
	StaleWhileRevalidate time.Duration // RFC 5861
	StaleIfError         time.Duration // RFC 5861
}

// ParseCacheControl parses every Cache-Control field line of h. Names are
// case-insensitive; unknown directives are ignored (§5.2.3). When a
// directive repeats, the first occurrence wins (§4.2.1). An invalid
// max-age or s-maxage value makes the response stale (value 0) rather
// than being ignored, the conservative reading of §4.2.1; invalid request
// values are ignored.
func ParseCacheControl(h Header) Directives {
	d := Directives{MaxAge: -1, SMaxAge: -1, MinFresh: -1, MaxStale: -1, StaleWhileRevalidate: -1, StaleIfError: -1}
	var seen uint32 // one bit per known directive, for first-wins
	for _, m := range listMembers(h, "Cache-Control") {
		name, arg, hasArg := strings.Cut(m, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		arg = strings.TrimSpace(arg)
		bit := directiveBit(name)
		if bit == 0 || seen&bit != 0 {
			continue // unknown (§5.2.3: ignored) or repeated
		}
		seen |= bit
		switch name {
		case "no-store":
			d.NoStore = true
		case "no-cache":
			if fields := fieldNames(arg); hasArg && len(fields) > 0 {
				d.NoCacheFields = fields
			} else {
				d.NoCache = true
			}
		case "private":
			if fields := fieldNames(arg); hasArg && len(fields) > 0 {
				d.PrivateFields = fields
			} else {
				d.Private = true
			}
		case "public":
			d.Public = true
		case "must-revalidate":
			d.MustRevalidate = true
		case "proxy-revalidate":
			d.ProxyRevalidate = true
		case "must-understand":
			d.MustUnderstand = true
		case "no-transform":
			d.NoTransform = true
		case "immutable":
			d.Immutable = true
		case "only-if-cached":
			d.OnlyIfCached = true
		case "max-age":
			d.MaxAge = deltaOr(arg, 0)
		case "s-maxage":
			d.SMaxAge = deltaOr(arg, 0)
		case "min-fresh":
			d.MinFresh = deltaOr(arg, -1)
		case "max-stale":
			if !hasArg {
				d.MaxStale = MaxDelta
			} else {
				d.MaxStale = deltaOr(arg, -1)
			}
		case "stale-while-revalidate":
			d.StaleWhileRevalidate = deltaOr(arg, -1)
		case "stale-if-error":
			d.StaleIfError = deltaOr(arg, -1)
		}
	}
	return d
}

// directives are those ParseCacheControl knows, numbered by directiveBit.
var directives = [...]string{"no-store", "no-cache", "private", "public", "must-revalidate", "proxy-revalidate",
	"must-understand", "no-transform", "immutable", "only-if-cached", "max-age", "s-maxage", "min-fresh",
	"max-stale", "stale-while-revalidate", "stale-if-error"}

// directiveBit is name's bit among directives, 0 for one it does not
// know. A scan of a fixed array rather than a map, which would be built at
// every start of every socklab command (issue 15).
func directiveBit(name string) uint32 {
	for i, d := range directives {
		if d == name {
			return 1 << i
		}
	}
	return 0
}

// deltaOr parses a delta-seconds argument (token or quoted-string form,
// §5.2), returning invalid when it is not one.
func deltaOr(arg string, invalid time.Duration) time.Duration {
	arg = unquote(arg)
	if d, ok := ParseDelta(arg); ok {
		return d
	}
	return invalid
}

// ParseDelta parses delta-seconds (RFC 9111 §1.2.2): one or more digits
// only, no sign, no spaces. Values too large become MaxDelta.
func ParseDelta(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n >= int64(MaxDelta/time.Second) {
		return MaxDelta, true
	}
	return time.Duration(n) * time.Second, true
}

// ParseDeltaInt is n seconds as a duration, MaxDelta when n is at least
// 2^31 (RFC 9111 §1.2.2).
func ParseDeltaInt(n int64) time.Duration {
	if n >= int64(MaxDelta/time.Second) {
		return MaxDelta
	}
	return time.Duration(n) * time.Second
}

// fieldNames parses the quoted list of field names in a qualified no-cache
// or private directive, canonicalised.
func fieldNames(arg string) []string {
	var out []string
	for _, f := range splitList(unquote(arg)) {
		if f != "" && isToken(f) {
			out = append(out, CanonicalKey(f))
		}
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		if strings.IndexByte(s, '\\') >= 0 {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			s = b.String()
		}
	}
	return s
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// PragmaNoCache reports whether a request asks for no-cache through Pragma,
// which counts only when Cache-Control is absent (RFC 9111 §5.4).
func PragmaNoCache(h Header) bool {
	if len(h["Cache-Control"]) > 0 {
		return false
	}
	for _, m := range listMembers(h, "Pragma") {
		if strings.EqualFold(m, "no-cache") {
			return true
		}
	}
	return false
}
