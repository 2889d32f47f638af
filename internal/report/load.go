package report

import (
	"fmt"
	"io"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/stats"
	"github.com/socklab/socklab/internal/units"
)

// LoadDoc is the load --json document: times in milliseconds, rates in
// bits per second, the latency in the shape every document shares.
type LoadDoc struct {
	Target   string  `json:"target"`
	Protocol string  `json:"protocol"` // "http" or "udp"
	Mode     string  `json:"mode"`     // "closed" or "open"
	Clients  int     `json:"clients"`
	Rate     float64 `json:"rate,omitempty"` // requested requests per second (open loop)
	Proxy    string  `json:"proxy,omitempty"`

	DurationMs     float64                   `json:"duration_ms"`
	Requests       int64                     `json:"requests"`
	Successes      int64                     `json:"successes"`
	Failures       int64                     `json:"failures"`
	Errors         map[string]int64          `json:"errors"`
	ErrorMessages  []loadresult.ErrorMessage `json:"error_messages,omitempty"`
	StatusCodes    map[string]int64          `json:"status_codes,omitempty"`
	RequestsPerSec float64                   `json:"requests_per_sec"`
	Bytes          int64                     `json:"bytes"`
	BytesPerSec    float64                   `json:"bytes_per_sec"`
	ThroughputBps  float64                   `json:"throughput_bps"`
	Latency        LatencyDoc                `json:"latency"`
	Cache          *loadresult.CacheStats    `json:"cache,omitempty"`
	UDP            *loadresult.UDPStats      `json:"udp,omitempty"`
	PerClient      []LoadClientDoc           `json:"per_client,omitempty"`
	// Warnings are the generator's own limits that touched the run; empty
	// when none, never null.
	Warnings []WarningDoc `json:"warnings"`

	// What an exact merge of several generators needs (socklab merge).
	Host             string           `json:"host,omitempty"`
	StartedAt        time.Time        `json:"started_at,omitzero"`
	LatencyHistogram *stats.Histogram `json:"latency_histogram_ns,omitempty"`
}

// LoadClientDoc is one client's share (--per-client).
type LoadClientDoc struct {
	ID        int                  `json:"id"`
	Requests  int64                `json:"requests"`
	Successes int64                `json:"successes"`
	Errors    map[string]int64     `json:"errors,omitempty"`
	Bytes     int64                `json:"bytes"`
	Latency   LatencyDoc           `json:"latency"`
	CacheHits int64                `json:"cache_hits,omitempty"`
	UDP       *loadresult.UDPStats `json:"udp,omitempty"`
}

// LoadJSON builds the --json document of r.
func LoadJSON(r *loadresult.Result) LoadDoc {
	d := LoadDoc{
		Target: r.Target, Protocol: r.Protocol, Mode: r.Mode, Clients: r.Clients, Rate: r.Rate, Proxy: r.Proxy,
		DurationMs: r.DurationMs, Requests: r.Requests, Successes: r.Successes, Failures: r.Failures,
		Errors: r.Errors, ErrorMessages: r.ErrorMessages, StatusCodes: r.StatusCodes, RequestsPerSec: r.RequestsPerSec,
		Bytes: r.Bytes, BytesPerSec: r.BytesPerSec, ThroughputBps: r.ThroughputBps,
		Latency: loadLatencyDoc(r.Latency), Cache: r.Cache, UDP: r.UDP,
		Warnings: []WarningDoc{},
		Host:     r.Host, StartedAt: r.StartedAt, LatencyHistogram: r.Hist,
	}
	for _, w := range r.Warnings {
		d.Warnings = append(d.Warnings, WarningDoc{Kind: w.Kind, Message: w.Message})
	}
	if d.Errors == nil {
		d.Errors = map[string]int64{}
	}
	for _, c := range r.PerClient {
		d.PerClient = append(d.PerClient, LoadClientDoc{ID: c.ID, Requests: c.Requests, Successes: c.Successes,
			Errors: c.Errors, Bytes: c.Bytes, Latency: loadLatencyDoc(c.Latency), CacheHits: c.CacheHits, UDP: c.UDP})
	}
	return d
}

// WriteLoadText writes a load result for people.
func WriteLoadText(w io.Writer, r *loadresult.Result) error {
	ew := &errWriter{w: w}
	mode := "closed loop"
	if r.Mode == "open" {
		mode = fmt.Sprintf("open loop at %g req/s", r.Rate)
	}
	ew.printf("load %s: %d clients, %s", r.Target, r.Clients, mode)
	if r.Proxy != "" {
		ew.printf(", via %s", r.Proxy)
	}
	ew.printf("\n")
	for _, wn := range r.Warnings {
		ew.printf("warning: %s\n", wn.Message)
	}
	ew.printf("  requests    %d in %.2f s: %d ok, %d failed\n", r.Requests, r.DurationMs/1000, r.Successes, r.Failures)
	ew.printf("  rate        %.1f req/s, %s/s (%s)\n", r.RequestsPerSec, units.FormatBytes(r.BytesPerSec), units.FormatBitrate(r.ThroughputBps))
	writeCounts(ew, "  status     ", r.SortedStatus(), r.StatusCodes)
	writeCounts(ew, "  errors     ", r.SortedErrors(), r.Errors)
	for _, m := range r.ErrorMessages {
		ew.printf("    [%d] %s\n", m.Count, m.Message)
	}
	name := "latency"
	if r.Protocol == "udp" {
		name = "rtt    "
	}
	if lat := r.Latency; lat.Count > 0 {
		ew.printf("  %s     min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms (mean %.3f)\n",
			name, lat.Min, lat.P50, lat.P90, lat.P99, lat.Max, lat.Mean)
	}
	if c := r.Cache; c != nil {
		ew.printf("  cache       %.1f%% hits (%d hits of which %d revalidated, %d misses)\n", c.HitRatio*100, c.Hits, c.Revalidated, c.Misses)
	}
	if u := r.UDP; u != nil {
		ew.printf("  udp         %d sent, %d received, %d lost (%.2f%%), %d duplicates\n", u.Sent, u.Received, u.Lost, u.LossPct, u.Duplicates)
	}
	if len(r.PerClient) > 0 {
		writeLoadPerClient(ew, r)
	}
	return ew.err
}

// writeCounts writes one "name: count" list on a line, when there is any.
func writeCounts(ew *errWriter, label string, keys []string, counts map[string]int64) {
	if len(keys) == 0 {
		return
	}
	ew.printf("%s", label)
	for _, k := range keys {
		ew.printf(" %s: %d", k, counts[k])
	}
	ew.printf("\n")
}

func writeLoadPerClient(ew *errWriter, r *loadresult.Result) {
	ew.printf("  per client:\n")
	if r.Protocol == "udp" {
		ew.printf("  %6s %8s %8s %8s %8s %10s %10s %10s\n", "client", "sent", "recv", "lost", "loss%", "rtt p50", "rtt p99", "rtt max")
	} else {
		ew.printf("  %6s %8s %8s %8s %10s %10s %10s\n", "client", "requests", "ok", "failed", "p50 ms", "p99 ms", "max ms")
	}
	for _, c := range r.PerClient {
		if u := c.UDP; u != nil {
			ew.printf("  %6d %8d %8d %8d %8.2f %10.3f %10.3f %10.3f\n", c.ID, u.Sent, u.Received, u.Lost, u.LossPct, c.Latency.P50, c.Latency.P99, c.Latency.Max)
			continue
		}
		ew.printf("  %6d %8d %8d %8d %10.3f %10.3f %10.3f\n", c.ID, c.Requests, c.Successes, c.Requests-c.Successes, c.Latency.P50, c.Latency.P99, c.Latency.Max)
	}
}

// LoadResult reads a load --json document back into a result, for merging:
// the inverse of LoadJSON for every field a merge uses.
func LoadResult(d *LoadDoc) *loadresult.Result {
	l := d.Latency
	return &loadresult.Result{
		Target: d.Target, Protocol: d.Protocol, Mode: d.Mode, Clients: d.Clients, Rate: d.Rate, Proxy: d.Proxy,
		Host: d.Host, StartedAt: d.StartedAt, DurationMs: d.DurationMs, Requests: d.Requests, Successes: d.Successes,
		Failures: d.Failures, Errors: d.Errors, StatusCodes: d.StatusCodes, RequestsPerSec: d.RequestsPerSec,
		Bytes: d.Bytes, BytesPerSec: d.BytesPerSec, ThroughputBps: d.ThroughputBps, Cache: d.Cache, UDP: d.UDP,
		Latency: loadresult.Latency{Count: l.N, Min: l.MinMs, Mean: l.AvgMs, P50: l.P50Ms, P90: l.P90Ms,
			P95: l.P95Ms, P99: l.P99Ms, Max: l.MaxMs, Stddev: l.StddevMs},
		Hist: d.LatencyHistogram, Warnings: loadWarnings(d.Warnings),
	}
}

func loadWarnings(ws []WarningDoc) []loadresult.Warning {
	var out []loadresult.Warning
	for _, w := range ws {
		out = append(out, loadresult.Warning{Kind: w.Kind, Message: w.Message})
	}
	return out
}
