package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/qos/qosresult"
	"github.com/socklab/socklab/internal/stats"
)

// ms converts a duration to float milliseconds, the unit of every *_ms field.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// LatencyDoc is the one shape of a delay distribution in every socklab JSON
// document (qos rtt, load latency, ping rtt; analyze's capture.Latency uses
// the same field names): milliseconds, stddev the population standard
// deviation (ping's mdev).
type LatencyDoc struct {
	N        int64   `json:"n"`
	MinMs    float64 `json:"min_ms"`
	AvgMs    float64 `json:"avg_ms"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P95Ms    float64 `json:"p95_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	StddevMs float64 `json:"stddev_ms"`
}

func latencyDoc(l qosresult.Latency) LatencyDoc {
	return LatencyDoc{N: l.N, MinMs: ms(l.Min), AvgMs: ms(l.Avg), P50Ms: ms(l.P50), P90Ms: ms(l.P90),
		P95Ms: ms(l.P95), P99Ms: ms(l.P99), MaxMs: ms(l.Max), StddevMs: ms(l.Stddev)}
}

func loadLatencyDoc(l loadresult.Latency) LatencyDoc {
	return LatencyDoc{N: l.Count, MinMs: l.Min, AvgMs: l.Mean, P50Ms: l.P50, P90Ms: l.P90,
		P95Ms: l.P95, P99Ms: l.P99, MaxMs: l.Max, StddevMs: l.Stddev}
}

// histLatencyDoc summarises a histogram of nanoseconds; sum holds the same
// samples in milliseconds for the exact mean and stddev.
func histLatencyDoc(h *stats.Histogram, sum *stats.Summary) LatencyDoc {
	q := func(x float64) float64 { return float64(h.Quantile(x)) / 1e6 }
	return LatencyDoc{N: sum.N(), MinMs: sum.Min(), AvgMs: sum.Mean(), P50Ms: q(0.50), P90Ms: q(0.90),
		P95Ms: q(0.95), P99Ms: q(0.99), MaxMs: sum.Max(), StddevMs: sum.Stddev()}
}

// WriteJSON writes v as one indented JSON document, the form of every
// --json output.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
