package loadresult

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// fakeResult builds a result as a run would, from latencies in µs.
func fakeResult(proto string, start time.Time, dur time.Duration, us ...int64) *Result {
	h := stats.NewHistogram()
	for _, v := range us {
		h.Record(v * 1000)
	}
	r := &Result{Protocol: proto, Target: "http://127.0.0.1:8000/", Mode: "closed", Clients: 2,
		StartedAt: start, DurationMs: float64(dur) / 1e6, Requests: int64(len(us)) + 1,
		Successes: int64(len(us)), Failures: 1, Errors: map[string]int64{"timeout": 1},
		StatusCodes: map[string]int64{"200": int64(len(us))}, Bytes: 100 * int64(len(us)),
		Hist: h, Latency: LatencyOf(h)}
	return r
}

func TestMergeTable(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		in        []Input
		requests  int64
		windowMs  float64
		skewMs    float64 // -1: unknown
		p99Ms     float64
		wantError string
	}{
		{
			name: "two side by side",
			in: []Input{
				{"a", fakeResult("http", t0, time.Second, 1000, 2000, 3000)},
				{"b", fakeResult("http", t0.Add(100*time.Millisecond), time.Second, 4000, 5000)},
			},
			requests: 7, windowMs: 1100, skewMs: 100, p99Ms: 4.997119, // mid-bucket of 5 ms
		},
		{
			name: "no start times: simultaneous, longest run",
			in: []Input{
				{"a", fakeResult("http", time.Time{}, time.Second, 10)},
				{"b", fakeResult("http", time.Time{}, 2*time.Second, 20)},
			},
			requests: 4, windowMs: 2000, skewMs: -1, p99Ms: 0.02,
		},
		{
			name:     "one input is itself",
			in:       []Input{{"a", fakeResult("http", t0, time.Second, 7, 9)}},
			requests: 3, windowMs: 1000, skewMs: 0, p99Ms: 0.008991,
		},
		{name: "none", wantError: "no results"},
		{
			name:      "mixed protocols",
			in:        []Input{{"a", fakeResult("http", t0, time.Second, 1)}, {"b", fakeResult("udp", t0, time.Second, 1)}},
			wantError: "b is udp",
		},
		{
			name:      "no histogram",
			in:        []Input{{"old.json", &Result{Protocol: "http"}}},
			wantError: "old.json has no latency_histogram_ns",
		},
		{name: "nil result", in: []Input{{"x", nil}}, wantError: "x: no result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Merge(tt.in)
			if tt.wantError != "" {
				if err == nil || !errors.Is(err, ErrNotMergeable) || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("got %v, want ErrNotMergeable containing %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Requests != tt.requests || m.DurationMs != tt.windowMs || m.Latency.P99 != tt.p99Ms {
				t.Fatalf("requests %d window %v p99 %v, want %d %v %v", m.Requests, m.DurationMs, m.Latency.P99, tt.requests, tt.windowMs, tt.p99Ms)
			}
			if (tt.skewMs < 0) != (m.StartSkewMs == nil) || (m.StartSkewMs != nil && *m.StartSkewMs != tt.skewMs) {
				t.Fatalf("skew %v, want %v", m.StartSkewMs, tt.skewMs)
			}
			if len(m.Generators) != len(tt.in) || m.Generators[0].Name != tt.in[0].Name {
				t.Fatalf("generator rows %+v", m.Generators)
			}
			if want := float64(tt.requests) / (tt.windowMs / 1000); m.RequestsPerSec != want {
				t.Fatalf("rate %v, want %v", m.RequestsPerSec, want)
			}
		})
	}
}

// TestMergeCountersAndCache checks every summed counter on UDP and cache
// figures, which the table above leaves out.
func TestMergeCountersAndCache(t *testing.T) {
	a := fakeResult("udp", time.Time{}, time.Second, 5)
	a.UDP = &UDPStats{Sent: 10, Received: 8, Lost: 2, Duplicates: 1}
	a.Cache = &CacheStats{Hits: 3, Revalidated: 1, Misses: 1}
	b := fakeResult("udp", time.Time{}, time.Second, 6)
	b.UDP = &UDPStats{Sent: 10, Received: 10}
	b.Cache = &CacheStats{Hits: 0, Misses: 4}
	b.Target = "udp://127.0.0.1:9090"
	m, err := Merge([]Input{{"a", a}, {"b", b}})
	if err != nil {
		t.Fatal(err)
	}
	if *m.UDP != (UDPStats{Sent: 20, Received: 18, Lost: 2, Duplicates: 1, LossPct: 10}) {
		t.Fatalf("udp %+v", *m.UDP)
	}
	if *m.Cache != (CacheStats{Hits: 3, Revalidated: 1, Misses: 5, HitRatio: 3.0 / 8}) {
		t.Fatalf("cache %+v", *m.Cache)
	}
	if m.Errors["timeout"] != 2 || m.StatusCodes["200"] != 2 || m.Clients != 4 || m.Bytes != 200 {
		t.Fatalf("errors %v status %v clients %d bytes %d", m.Errors, m.StatusCodes, m.Clients, m.Bytes)
	}
	if m.Target != "http://127.0.0.1:8000/,udp://127.0.0.1:9090" {
		t.Fatalf("distinct targets %q", m.Target)
	}
}

// A self-limit that touched one generator touched the merged run: the
// merge keeps it, saying whose it was.
func TestMergeKeepsWarnings(t *testing.T) {
	a := fakeResult("http", time.Time{}, time.Second, 5)
	a.Warnings = []Warning{{Kind: WarnBehindSchedule, Message: "sent 80 of 100 planned"}}
	b := fakeResult("http", time.Time{}, time.Second, 6)
	m, err := Merge([]Input{{"gen-a.json", a}, {"gen-b.json", b}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{{Kind: WarnBehindSchedule, Message: "gen-a.json: sent 80 of 100 planned"}}
	if len(m.Warnings) != 1 || m.Warnings[0] != want[0] {
		t.Fatalf("warnings %+v, want %+v", m.Warnings, want)
	}
}
