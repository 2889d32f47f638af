package report

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
)

// GetDoc is the get --json document.
type GetDoc struct {
	URL         string                    `json:"url"`
	Proxy       string                    `json:"proxy,omitempty"`
	Requests    []*loadresult.ProbeResult `json:"requests"`
	CacheSaving *CacheSavingDoc           `json:"cache_saving,omitempty"`
}

// CacheSavingDoc compares the first MISS with the first hit after it.
type CacheSavingDoc struct {
	MissMs  float64 `json:"miss_ms"`
	HitMs   float64 `json:"hit_ms"`
	SavedMs float64 `json:"saved_ms"`
	Hit     string  `json:"hit_verdict"` // HIT or REVALIDATED
}

// GetJSON builds the --json document of requests to url.
func GetJSON(url, proxy string, rs []*loadresult.ProbeResult) GetDoc {
	return GetDoc{URL: url, Proxy: proxy, Requests: rs, CacheSaving: CacheSaving(rs)}
}

// CacheSaving compares the first MISS with the first hit that follows it;
// nil when there is no such pair.
func CacheSaving(rs []*loadresult.ProbeResult) *CacheSavingDoc {
	var miss *loadresult.ProbeResult
	for _, r := range rs {
		switch {
		case r.Cache == loadresult.CacheMiss && miss == nil:
			miss = r
		case loadresult.IsCacheHit(r.Cache) && miss != nil:
			m, h := ms(miss.Timing.Total), ms(r.Timing.Total)
			return &CacheSavingDoc{MissMs: m, HitMs: h, SavedMs: m - h, Hit: r.Cache}
		}
	}
	return nil
}

// mainHeaders are the response headers get prints without --headers: the
// ones that say what came back and whether a cache served it.
var mainHeaders = []string{"Content-Type", "Content-Length", "Content-Encoding", "Last-Modified", "Etag",
	"Cache-Control", "Age", "Via", "Location", "Cache-Status", "X-Cache"}

// GetTextOptions say how WriteGetText labels a request.
type GetTextOptions struct {
	Number     int    // "#N " before the request line; 0: none (a single request)
	Proxy      string // named after the URL when set
	AllHeaders bool   // every response header, not just the main ones
}

// WriteGetText writes one request's status, headers, size, timing split
// and cache verdict.
func WriteGetText(w io.Writer, r *loadresult.ProbeResult, o GetTextOptions) error {
	ew := &errWriter{w: w}
	if o.Number > 0 {
		ew.printf("#%d ", o.Number)
	}
	ew.printf("%s %s", r.Method, r.URL)
	if o.Proxy != "" {
		ew.printf(" via %s", o.Proxy)
	}
	ew.printf("\n  %s %s\n", r.Proto, r.StatusText)
	names := mainHeaders
	if o.AllHeaders {
		names = make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	for _, k := range names {
		for _, v := range r.Header.Values(k) {
			ew.printf("  %s: %s\n", k, v)
		}
	}
	ew.printf("  size       %d bytes\n", r.Size)
	t := r.Timing
	ew.printf("  timing     dns %s  connect %s  tls %s  first byte %s  total %s",
		FormatMs(t.DNS), FormatMs(t.Connect), FormatMs(t.TLS), FormatMs(t.FirstByte), FormatMs(t.Total))
	if r.ConnReused {
		ew.printf("  (connection reused)")
	}
	ew.printf("\n")
	switch r.Cache {
	case "":
	case loadresult.CacheRevalidated:
		ew.printf("  cache      %s (served from the cache after the origin answered 304)\n", r.Cache)
	default:
		ew.printf("  cache      %s\n", r.Cache)
	}
	return ew.err
}

// WriteGetSaving writes how much time the cache saved, when the requests
// hold a MISS and a later hit.
func WriteGetSaving(w io.Writer, rs []*loadresult.ProbeResult) error {
	s := CacheSaving(rs)
	if s == nil {
		return nil
	}
	pct := 0.0
	if s.MissMs > 0 {
		pct = s.SavedMs / s.MissMs * 100
	}
	_, err := fmt.Fprintf(w, "cache saved %.3f ms: MISS %.3f ms, then %s %.3f ms (%.0f%% faster)\n", s.SavedMs, s.MissMs, s.Hit, s.HitMs, pct)
	return err
}

// FormatMs writes a duration as milliseconds with three decimals: "1.250 ms".
func FormatMs(d time.Duration) string { return fmt.Sprintf("%.3f ms", ms(d)) }
