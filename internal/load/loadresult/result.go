// Package loadresult holds what a load run and a single probe ("socklab
// get") measured, as plain values: the engine (internal/load) fills them,
// the renderers (internal/report) read them. It opens no socket, so the
// presentation layer can import it without importing the engine.
package loadresult

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Result is the outcome of a load run. Times are milliseconds, rates bits
// per second (the SPEC's conventions); report.LoadJSON is its --json form.
type Result struct {
	Target   string
	Protocol string // "http" or "udp"
	Mode     string // "closed" (next request when the last ended) or "open" (fixed rate)
	Clients  int
	Rate     float64 // requested requests per second (open loop)
	Proxy    string
	// Host names the machine that generated the load (set by the caller;
	// the engine leaves it empty), for the per-generator rows of a merge.
	Host string
	// StartedAt is the wall-clock time the first request was due.
	StartedAt time.Time

	DurationMs float64
	Requests   int64            // attempted (UDP: probes)
	Successes  int64            //
	Failures   int64            // Requests − Successes, the sum of Errors
	Errors     map[string]int64 // by kind: refused, timeout, http_5xx, lost…
	// ErrorMessages are the most frequent distinct transport error
	// messages, most frequent first (hey's "Error distribution").
	ErrorMessages  []ErrorMessage
	StatusCodes    map[string]int64
	RequestsPerSec float64 // completed requests (any outcome) per second; open loop: over the scheduled duration
	Bytes          int64   // response bodies (UDP: reply datagrams)
	BytesPerSec    float64
	ThroughputBps  float64 // the same, in bits per second
	Latency        Latency
	Cache          *CacheStats
	UDP            *UDPStats
	PerClient      []ClientResult
	// Warnings are the generator's own limits that touched the run (behind
	// its schedule, the reflector's rate cap); empty when none.
	Warnings []Warning

	// Hist is the merged latency histogram in nanoseconds (for charts).
	Hist *stats.Histogram
}

// Warning is one self-limit that touched a run.
type Warning struct {
	Kind    string
	Message string
}

// Warning kinds.
const (
	WarnBehindSchedule = "sender_behind_schedule"
	WarnReflectorCap   = "reflector_rate_cap"
)

// Histogram is the merged latency histogram in nanoseconds (for charts).
func (r *Result) Histogram() *stats.Histogram { return r.Hist }

// Latency summarises a latency histogram in milliseconds. In open loop the
// clock starts at the scheduled send time, so time spent queued behind a slow
// server counts.
type Latency struct {
	Count  int64
	Min    float64
	Mean   float64
	P50    float64
	P90    float64
	P95    float64
	P99    float64
	Max    float64
	Stddev float64
}

// CacheStats counts the cache verdicts seen in responses (Cache-Status or
// X-Cache); present only when at least one response carried one.
type CacheStats struct {
	Hits        int64   `json:"hits"`        // served from the cache, revalidated ones included
	Revalidated int64   `json:"revalidated"` // of the hits, those confirmed by the origin (304)
	Misses      int64   `json:"misses"`      // every other verdict
	HitRatio    float64 `json:"hit_ratio"`   // hits / responses with a verdict
}

// UDPStats are the probe counts of a UDP run.
type UDPStats struct {
	Sent       int64   `json:"sent"`
	Received   int64   `json:"received"` // unique replies
	Lost       int64   `json:"lost"`
	LossPct    float64 `json:"loss_pct"`
	Duplicates int64   `json:"duplicates"`
}

// ClientResult is one client's share of the run (--per-client).
type ClientResult struct {
	ID        int
	Requests  int64
	Successes int64
	Errors    map[string]int64
	Bytes     int64
	Latency   Latency
	CacheHits int64
	UDP       *UDPStats
}

// SortedStatus returns the status codes in ascending order, for rendering.
func (r *Result) SortedStatus() []string {
	keys := make([]string, 0, len(r.StatusCodes))
	for k := range r.StatusCodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SortedErrors returns the error kinds, most frequent first.
func (r *Result) SortedErrors() []string {
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if r.Errors[keys[i]] != r.Errors[keys[j]] {
			return r.Errors[keys[i]] > r.Errors[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

// Cache verdicts, as load.CacheVerdict reads them from a response.
const (
	CacheHit         = "HIT"
	CacheMiss        = "MISS"
	CacheRevalidated = "REVALIDATED" // stale entry confirmed by the origin (304)
)

// IsCacheHit reports whether a verdict means the body came from the cache:
// a fresh HIT, or a stale entry the origin confirmed with a 304 (which
// socklab's proxy also marks X-Cache: HIT, as Squid counts
// TCP_REFRESH_UNMODIFIED among its hits).
func IsCacheHit(verdict string) bool { return verdict == CacheHit || verdict == CacheRevalidated }

// Timing is the httptrace split of one request. A phase that did not happen
// (no DNS for an IP literal, no connect on a reused connection) is zero.
type Timing struct {
	DNS       time.Duration // name lookup
	Connect   time.Duration // TCP handshake (to the proxy, when there is one)
	TLS       time.Duration // TLS handshake
	FirstByte time.Duration // from the start to the first response byte
	Total     time.Duration // from the start to the last body byte
}

// MarshalJSON writes the phases in milliseconds, the SPEC's unit.
func (t Timing) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return json.Marshal(struct {
		DNS       float64 `json:"dns"`
		Connect   float64 `json:"connect"`
		TLS       float64 `json:"tls"`
		FirstByte float64 `json:"first_byte"`
		Total     float64 `json:"total"`
	}{ms(t.DNS), ms(t.Connect), ms(t.TLS), ms(t.FirstByte), ms(t.Total)})
}

// ProbeResult is what one request returned.
type ProbeResult struct {
	URL         string `json:"url"`
	Method      string `json:"method"`
	Proto       string `json:"proto"`       // "HTTP/1.1"
	Status      int    `json:"status"`      // 200
	StatusText  string `json:"status_text"` // "200 OK"
	Header      Header `json:"headers"`
	Size        int64  `json:"size_bytes"` // body bytes received
	Timing      Timing `json:"timing_ms"`
	ConnReused  bool   `json:"conn_reused"`
	RemoteAddr  string `json:"remote_addr,omitempty"`  // the peer connected to (the proxy, when there is one)
	TLSVersion  string `json:"tls_version,omitempty"`  // "TLS 1.3"
	Cache       string `json:"cache,omitempty"`        // HIT, MISS, REVALIDATED; empty without a cache
	CacheStatus string `json:"cache_status,omitempty"` // the raw Cache-Status field
}

// Header is a response's header fields keyed by canonical name, as
// net/http delivers them (an http.Header converts to it). It is not
// http.Header so that this package, and the presentation layer that reads
// it, import nothing that opens sockets.
type Header map[string][]string

// Values returns every value of the field key (any case).
func (h Header) Values(key string) []string { return h[canonicalKey(key)] }

// Get returns the first value of the field key (any case), "" if none.
func (h Header) Get(key string) string {
	if v := h.Values(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey for valid field names:
// the first letter and any letter after a hyphen upper case, the rest
// lower case ("cache-status" → "Cache-Status").
func canonicalKey(s string) string {
	b := []byte(s)
	upper := true
	for i, c := range b {
		switch {
		case upper && 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case !upper && 'A' <= c && c <= 'Z':
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return string(b)
}

// ErrorMessage is one distinct error message and how often it occurred.
type ErrorMessage struct {
	Message string `json:"message"`
	Count   int64  `json:"count"`
}
