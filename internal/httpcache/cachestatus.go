package httpcache

import (
	"strconv"
	"strings"
	"time"
)

// Forward reasons of the Cache-Status fwd parameter (RFC 9211 §2.2).
const (
	FwdBypass   = "bypass"   // configured or required to bypass the cache
	FwdMethod   = "method"   // the request method is not cacheable
	FwdURIMiss  = "uri-miss" // nothing stored for the URI
	FwdVaryMiss = "vary-miss"
	FwdMiss     = "miss" // stored, but not usable (e.g. Authorization)
	FwdRequest  = "request"
	FwdStale    = "stale"
)

// CacheStatus is one member of a Cache-Status field (RFC 9211).
type CacheStatus struct {
	Cache     string // the cache's name, e.g. "socklab"
	Hit       bool
	Fwd       string
	FwdStatus int // status of the forwarded response; 0 = absent
	TTL       time.Duration
	HasTTL    bool
	Stored    bool
	Collapsed bool
	Detail    string
}

// String renders the member as a structured-field list member
// (RFC 8941): `socklab; hit; ttl=42`.
func (s CacheStatus) String() string {
	var b strings.Builder
	b.WriteString(s.Cache)
	if s.Hit {
		b.WriteString("; hit")
	}
	if s.Fwd != "" {
		b.WriteString("; fwd=" + s.Fwd)
		if s.FwdStatus > 0 {
			b.WriteString("; fwd-status=" + strconv.Itoa(s.FwdStatus))
		}
	}
	if s.Stored {
		b.WriteString("; stored")
	}
	if s.Collapsed {
		b.WriteString("; collapsed")
	}
	if s.HasTTL {
		b.WriteString("; ttl=" + strconv.FormatInt(int64(s.TTL/time.Second), 10))
	}
	if s.Detail != "" {
		b.WriteString("; detail=")
		if sfToken(s.Detail) {
			b.WriteString(s.Detail)
		} else {
			b.WriteString(strconv.Quote(s.Detail))
		}
	}
	return b.String()
}

// sfToken reports whether s can be an RFC 8941 token (else it is quoted).
func sfToken(s string) bool {
	if s == "" || !(s[0] == '*' || 'a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
