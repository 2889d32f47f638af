package loadresult

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Input is one generator's result for Merge, with the name its row carries
// (a file name, say).
type Input struct {
	Name   string
	Result *Result
}

// Merged is several generators' results combined: the totals as one Result
// (its latency figures come from the merged histogram, never from averaged
// percentiles) and one row per generator. It carries the merged histogram
// too, so a merged document can itself be merged again.
type Merged struct {
	Result
	Generators []Generator
	// StartSkewMs is how far apart the generators started (latest start
	// minus earliest): near zero when --start-at lined them up.
	StartSkewMs *float64
}

// Generator is one input's row in a merged report.
type Generator struct {
	Name           string
	Host           string
	Target         string
	StartedAt      time.Time
	DurationMs     float64
	Requests       int64
	Successes      int64
	Failures       int64
	RequestsPerSec float64
	Latency        Latency
	UDP            *UDPStats
}

// ErrNotMergeable is wrapped by Merge's errors about its inputs.
var ErrNotMergeable = errors.New("results cannot be merged")

// Merge combines results from generators that ran at the same time into one
// exact report: counters are summed, histograms merged bucket by bucket,
// and the rates are taken over the wall-clock window from the earliest
// start to the latest end (the generators ran side by side, so their rates
// add up; that window is exact when their clocks agree).
func Merge(inputs []Input) (*Merged, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: no results", ErrNotMergeable)
	}
	if err := checkMergeable(inputs); err != nil {
		return nil, err
	}
	m := &Merged{Result: Result{Protocol: inputs[0].Result.Protocol, Errors: map[string]int64{},
		Hist: stats.NewHistogram()}}
	t := &m.Result
	var cache CacheStats
	var verdicts int64
	for _, in := range inputs {
		r := in.Result
		addCounters(t, r)
		if c := r.Cache; c != nil {
			cache.Hits += c.Hits
			cache.Revalidated += c.Revalidated
			cache.Misses += c.Misses
			verdicts += c.Hits + c.Misses
		}
		t.Hist.Merge(r.Hist)
		for _, w := range r.Warnings {
			// A self-limit of one generator touched the merged run too;
			// say whose it was.
			t.Warnings = append(t.Warnings, Warning{Kind: w.Kind, Message: in.Name + ": " + w.Message})
		}
		m.Generators = append(m.Generators, generatorRow(in))
	}
	t.Target = joinDistinct(inputs, func(r *Result) string { return r.Target })
	t.Mode = joinDistinct(inputs, func(r *Result) string { return r.Mode })
	t.Proxy = joinDistinct(inputs, func(r *Result) string { return r.Proxy })
	t.Host = joinDistinct(inputs, func(r *Result) string { return r.Host })
	if verdicts > 0 {
		cache.HitRatio = float64(cache.Hits) / float64(verdicts)
		t.Cache = &cache
	}
	if t.UDP != nil {
		t.UDP.LossPct = stats.LossPct(t.UDP.Sent, t.UDP.Received)
	}
	t.Latency = LatencyOf(t.Hist)
	window, skew := mergeWindow(inputs)
	t.StartedAt, t.DurationMs, m.StartSkewMs = window.start, float64(window.length)/1e6, skew
	if s := window.length.Seconds(); s > 0 {
		t.RequestsPerSec = float64(t.Requests) / s
		t.BytesPerSec = float64(t.Bytes) / s
		t.ThroughputBps = t.BytesPerSec * 8
	}
	return m, nil
}

// checkMergeable refuses what cannot be summed honestly: a missing result or
// histogram (a file from a socklab without them), or HTTP mixed with UDP.
func checkMergeable(inputs []Input) error {
	for _, in := range inputs {
		r := in.Result
		switch {
		case r == nil:
			return fmt.Errorf("%w: %s: no result", ErrNotMergeable, in.Name)
		case r.Hist == nil:
			return fmt.Errorf("%w: %s has no latency_histogram_ns (written by socklab load --json of this version?)", ErrNotMergeable, in.Name)
		case r.Hist.Count() != r.Latency.Count:
			return fmt.Errorf("%w: %s: histogram holds %d latencies, latency_ms.count says %d", ErrNotMergeable, in.Name, r.Hist.Count(), r.Latency.Count)
		case r.Protocol != inputs[0].Result.Protocol:
			return fmt.Errorf("%w: %s is %s, %s is %s", ErrNotMergeable, inputs[0].Name, inputs[0].Result.Protocol, in.Name, r.Protocol)
		}
	}
	return nil
}

// addCounters adds r's counters to t.
func addCounters(t, r *Result) {
	t.Clients += r.Clients
	t.Rate += r.Rate
	t.Requests += r.Requests
	t.Successes += r.Successes
	t.Failures += r.Failures
	t.Bytes += r.Bytes
	for k, v := range r.Errors {
		t.Errors[k] += v
	}
	if len(r.StatusCodes) > 0 && t.StatusCodes == nil {
		t.StatusCodes = map[string]int64{}
	}
	for k, v := range r.StatusCodes {
		t.StatusCodes[k] += v
	}
	if u := r.UDP; u != nil {
		if t.UDP == nil {
			t.UDP = &UDPStats{}
		}
		t.UDP.Sent += u.Sent
		t.UDP.Received += u.Received
		t.UDP.Lost += u.Lost
		t.UDP.Duplicates += u.Duplicates
	}
}

func generatorRow(in Input) Generator {
	r := in.Result
	return Generator{
		Name: in.Name, Host: r.Host, Target: r.Target, StartedAt: r.StartedAt, DurationMs: r.DurationMs,
		Requests: r.Requests, Successes: r.Successes, Failures: r.Failures,
		RequestsPerSec: r.RequestsPerSec, Latency: r.Latency, UDP: r.UDP,
	}
}

type window struct {
	start  time.Time
	length time.Duration
}

// mergeWindow is the wall-clock span covering every run and how far apart
// their starts were. Without start times (every input lacks one) the runs
// are taken as simultaneous: the window is the longest run, the skew unknown.
func mergeWindow(inputs []Input) (window, *float64) {
	var w window
	var end, last time.Time
	var longest time.Duration
	for _, in := range inputs {
		r := in.Result
		d := time.Duration(r.DurationMs * 1e6)
		longest = max(longest, d)
		if r.StartedAt.IsZero() {
			continue
		}
		if w.start.IsZero() || r.StartedAt.Before(w.start) {
			w.start = r.StartedAt
		}
		if r.StartedAt.After(last) {
			last = r.StartedAt
		}
		if e := r.StartedAt.Add(d); e.After(end) {
			end = e
		}
	}
	if w.start.IsZero() {
		return window{length: longest}, nil
	}
	w.length = max(end.Sub(w.start), longest)
	skew := float64(last.Sub(w.start)) / 1e6
	return w, &skew
}

// joinDistinct is the value every input shares, or the distinct values
// joined by commas when they differ.
func joinDistinct(inputs []Input, f func(*Result) string) string {
	seen := map[string]bool{}
	var out []string
	for _, in := range inputs {
		if v := f(in.Result); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

// LatencyOf summarises a histogram of nanoseconds in milliseconds.
func LatencyOf(h *stats.Histogram) Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Latency{
		Count:  h.Count(),
		Min:    ms(h.Min()),
		Mean:   h.Mean() / 1e6,
		P50:    ms(h.Quantile(0.50)),
		P90:    ms(h.Quantile(0.90)),
		P95:    ms(h.Quantile(0.95)),
		P99:    ms(h.Quantile(0.99)),
		Max:    ms(h.Max()),
		Stddev: h.Stddev() / 1e6,
	}
}
