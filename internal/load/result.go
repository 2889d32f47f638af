package load

import (
	"sort"
	"strconv"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Result is the outcome of a load run, ready for --json: times in
// milliseconds, rates in bits per second (the SPEC's conventions).
type Result struct {
	Target   string  `json:"target"`
	Protocol string  `json:"protocol"` // "http" or "udp"
	Mode     string  `json:"mode"`     // "closed" (next request when the last ended) or "open" (fixed rate)
	Clients  int     `json:"clients"`
	Rate     float64 `json:"rate,omitempty"` // requested requests per second (open loop)
	Proxy    string  `json:"proxy,omitempty"`

	DurationMs     float64          `json:"duration_ms"`
	Requests       int64            `json:"requests"` // attempted (UDP: probes)
	Successes      int64            `json:"successes"`
	Failures       int64            `json:"failures"` // Requests − Successes, the sum of Errors
	Errors         map[string]int64 `json:"errors"`   // by kind: refused, timeout, http_5xx, lost…
	StatusCodes    map[string]int64 `json:"status_codes,omitempty"`
	RequestsPerSec float64          `json:"requests_per_sec"` // completed requests (any outcome) per second
	Bytes          int64            `json:"bytes"`            // response bodies (UDP: reply datagrams)
	BytesPerSec    float64          `json:"bytes_per_sec"`
	ThroughputBps  float64          `json:"throughput_bps"` // the same, in bits per second
	Latency        Latency          `json:"latency_ms"`
	Cache          *CacheStats      `json:"cache,omitempty"`
	UDP            *UDPStats        `json:"udp,omitempty"`
	PerClient      []ClientResult   `json:"per_client,omitempty"`

	hist *stats.Histogram
}

// Histogram is the merged latency histogram in nanoseconds (for charts).
func (r *Result) Histogram() *stats.Histogram { return r.hist }

// Latency summarises a latency histogram in milliseconds. In open loop the
// clock starts at the scheduled send time, so time spent queued behind a slow
// server counts.
type Latency struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
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
	ID        int              `json:"id"`
	Requests  int64            `json:"requests"`
	Successes int64            `json:"successes"`
	Errors    map[string]int64 `json:"errors,omitempty"`
	Bytes     int64            `json:"bytes"`
	Latency   Latency          `json:"latency_ms"`
	CacheHits int64            `json:"cache_hits,omitempty"`
	UDP       *UDPStats        `json:"udp,omitempty"`
}

// clientStats is what one client goroutine accumulates; only that goroutine
// writes it, so no lock is needed until the merge.
type clientStats struct {
	requests, successes, bytes  int64
	errors                      map[string]int64
	status                      map[int]int64
	hits, revalidated, verdicts int64
	hist                        *stats.Histogram
	udp                         *UDPStats
}

func newClientStats() *clientStats {
	return &clientStats{errors: map[string]int64{}, status: map[int]int64{}, hist: stats.NewHistogram()}
}

func (c *clientStats) fail(kind string) { c.errors[kind]++ }

func latencyOf(h *stats.Histogram) Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Latency{
		Count: h.Count(),
		Min:   ms(h.Min()),
		Mean:  h.Mean() / 1e6,
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.Max()),
	}
}

// merge folds the clients into one Result.
func (l *Load) merge(clients []*clientStats, elapsed time.Duration) *Result {
	r := &Result{
		Target:     l.cfg.Target,
		Protocol:   l.proto,
		Mode:       "closed",
		Clients:    len(clients),
		Rate:       l.cfg.Rate,
		Proxy:      l.cfg.Proxy,
		DurationMs: float64(elapsed) / 1e6,
		Errors:     map[string]int64{},
		hist:       stats.NewHistogram(),
	}
	if l.sched.open() {
		r.Mode = "open"
	}
	status := map[int]int64{}
	var hits, revalidated, verdicts int64
	for i, c := range clients {
		r.Requests += c.requests
		r.Successes += c.successes
		r.Bytes += c.bytes
		for k, v := range c.errors {
			r.Errors[k] += v
		}
		for k, v := range c.status {
			status[k] += v
		}
		hits += c.hits
		revalidated += c.revalidated
		verdicts += c.verdicts
		r.hist.Merge(c.hist)
		cr := ClientResult{
			ID: i + 1, Requests: c.requests, Successes: c.successes, Bytes: c.bytes,
			Latency: latencyOf(c.hist), CacheHits: c.hits, UDP: c.udp,
		}
		if len(c.errors) > 0 {
			cr.Errors = c.errors
		}
		r.PerClient = append(r.PerClient, cr)
		if c.udp != nil {
			if r.UDP == nil {
				r.UDP = &UDPStats{}
			}
			r.UDP.Sent += c.udp.Sent
			r.UDP.Received += c.udp.Received
			r.UDP.Lost += c.udp.Lost
			r.UDP.Duplicates += c.udp.Duplicates
		}
	}
	for _, v := range r.Errors {
		r.Failures += v
	}
	if len(status) > 0 {
		r.StatusCodes = map[string]int64{}
		for k, v := range status {
			r.StatusCodes[strconv.Itoa(k)] = v
		}
	}
	if r.UDP != nil {
		r.UDP.LossPct = stats.LossPct(r.UDP.Sent, r.UDP.Received)
	}
	if verdicts > 0 {
		r.Cache = &CacheStats{Hits: hits, Revalidated: revalidated, Misses: verdicts - hits, HitRatio: float64(hits) / float64(verdicts)}
	}
	if s := elapsed.Seconds(); s > 0 {
		r.RequestsPerSec = float64(r.Requests) / s
		r.BytesPerSec = float64(r.Bytes) / s
		r.ThroughputBps = r.BytesPerSec * 8
	}
	r.Latency = latencyOf(r.hist)
	return r
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
