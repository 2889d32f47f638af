package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/units"
)

// MergeDoc is the --json document of socklab merge: the merged load result
// in load --json's shape (histogram included, so it merges again) plus one
// row per generator and how far apart they started.
type MergeDoc struct {
	LoadDoc
	Generators  []GeneratorDoc `json:"generators"`
	StartSkewMs *float64       `json:"start_skew_ms"`
}

// GeneratorDoc is one generator's row.
type GeneratorDoc struct {
	Name           string               `json:"name"`
	Host           string               `json:"host,omitempty"`
	Target         string               `json:"target"`
	StartedAt      time.Time            `json:"started_at,omitzero"`
	DurationMs     float64              `json:"duration_ms"`
	Requests       int64                `json:"requests"`
	Successes      int64                `json:"successes"`
	Failures       int64                `json:"failures"`
	RequestsPerSec float64              `json:"requests_per_sec"`
	Latency        LatencyDoc           `json:"latency"`
	UDP            *loadresult.UDPStats `json:"udp,omitempty"`
}

// MergeJSON builds the --json document of m.
func MergeJSON(m *loadresult.Merged) MergeDoc {
	d := MergeDoc{LoadDoc: LoadJSON(&m.Result), StartSkewMs: m.StartSkewMs}
	for _, g := range m.Generators {
		d.Generators = append(d.Generators, GeneratorDoc{Name: g.Name, Host: g.Host, Target: g.Target,
			StartedAt: g.StartedAt, DurationMs: g.DurationMs, Requests: g.Requests, Successes: g.Successes,
			Failures: g.Failures, RequestsPerSec: g.RequestsPerSec, Latency: loadLatencyDoc(g.Latency), UDP: g.UDP})
	}
	return d
}

// WriteMergeText prints a merged load result for people: the totals, with
// percentiles from the merged histogram, then a row per generator.
func WriteMergeText(w io.Writer, m *loadresult.Merged) error {
	ew := &errWriter{w: w}
	r := &m.Result
	ew.printf("merge of %d generators: %s, %d clients, %s", len(m.Generators), r.Target, r.Clients, mergeMode(r))
	if r.Proxy != "" {
		ew.printf(", via %s", r.Proxy)
	}
	ew.printf("\n")
	if !r.StartedAt.IsZero() {
		ew.printf("  window      from %s for %.2f s", r.StartedAt.UTC().Format(time.RFC3339Nano), r.DurationMs/1000)
		if m.StartSkewMs != nil {
			ew.printf(", starts %.1f ms apart", *m.StartSkewMs)
		}
		ew.printf("\n")
	}
	ew.printf("  requests    %d in %.2f s: %d ok, %d failed\n", r.Requests, r.DurationMs/1000, r.Successes, r.Failures)
	ew.printf("  rate        %.1f req/s, %s/s (%s)\n", r.RequestsPerSec, units.FormatBytes(r.BytesPerSec), units.FormatBitrate(r.ThroughputBps))
	if len(r.StatusCodes) > 0 {
		ew.printf("  status     ")
		for _, k := range r.SortedStatus() {
			ew.printf(" %s: %d", k, r.StatusCodes[k])
		}
		ew.printf("\n")
	}
	if len(r.Errors) > 0 {
		ew.printf("  errors     ")
		for _, k := range r.SortedErrors() {
			ew.printf(" %s: %d", k, r.Errors[k])
		}
		ew.printf("\n")
	}
	if lat := r.Latency; lat.Count > 0 {
		ew.printf("  %s     min %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms (mean %.3f)\n",
			mergeLatencyName(r.Protocol), lat.Min, lat.P50, lat.P90, lat.P99, lat.Max, lat.Mean)
	}
	if c := r.Cache; c != nil {
		ew.printf("  cache       %.1f%% hits (%d hits of which %d revalidated, %d misses)\n", c.HitRatio*100, c.Hits, c.Revalidated, c.Misses)
	}
	if u := r.UDP; u != nil {
		ew.printf("  udp         %d sent, %d received, %d lost (%.2f%%), %d duplicates\n", u.Sent, u.Received, u.Lost, u.LossPct, u.Duplicates)
	}
	writeMergeGenerators(ew, m.Generators)
	return ew.err
}

// writeMergeGenerators prints the per-generator table; names are padded to the
// longest one so the columns line up.
func writeMergeGenerators(ew *errWriter, gens []loadresult.Generator) {
	width := len("generator")
	for _, g := range gens {
		width = max(width, len(mergeGeneratorLabel(g)))
	}
	ew.printf("  per generator:\n")
	ew.printf("  %-*s %9s %9s %9s %10s %10s %10s %10s\n", width, "generator", "requests", "ok", "failed", "req/s", "p50 ms", "p99 ms", "max ms")
	for _, g := range gens {
		ew.printf("  %-*s %9d %9d %9d %10.1f %10.3f %10.3f %10.3f\n", width, mergeGeneratorLabel(g),
			g.Requests, g.Successes, g.Failures, g.RequestsPerSec, g.Latency.P50, g.Latency.P99, g.Latency.Max)
	}
}

func mergeGeneratorLabel(g loadresult.Generator) string {
	if g.Host == "" {
		return g.Name
	}
	return g.Name + " (" + g.Host + ")"
}

func mergeMode(r *loadresult.Result) string {
	switch {
	case r.Mode == "open":
		return fmt.Sprintf("open loop at %g req/s in total", r.Rate)
	case strings.Contains(r.Mode, ","):
		return "mixed open and closed loop"
	}
	return "closed loop"
}

func mergeLatencyName(proto string) string {
	if proto == "udp" {
		return "rtt    "
	}
	return "latency"
}
