package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/stats"
)

// mergeFixture is a hand-made merge of two HTTP generators.
func mergeFixture(t *testing.T) *loadresult.Merged {
	t.Helper()
	start := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	var inputs []loadresult.Input
	for i, host := range []string{"gen-a", "gen-b"} {
		h := stats.NewHistogram()
		for v := 1; v <= 100; v++ {
			h.Record(int64(v*(i+1)) * 100_000)
		}
		r := &loadresult.Result{
			Target: "http://127.0.0.1:8000/", Protocol: "http", Mode: "closed", Clients: 5, Host: host,
			StartedAt: start.Add(time.Duration(i) * 3 * time.Millisecond), DurationMs: 10000,
			Requests: 110, Successes: 100, Failures: 10, Errors: map[string]int64{"timeout": 10},
			StatusCodes: map[string]int64{"200": 100}, Bytes: 51200,
			Cache: &loadresult.CacheStats{Hits: 90, Misses: 10, HitRatio: 0.9},
			Hist:  h,
		}
		r.Latency.Count = h.Count()
		r.Latency.P50, r.Latency.P99, r.Latency.Max = float64(h.Quantile(0.5))/1e6, float64(h.Quantile(0.99))/1e6, float64(h.Max())/1e6
		r.RequestsPerSec = 11
		inputs = append(inputs, loadresult.Input{Name: host + ".json", Result: r})
	}
	m, err := loadresult.Merge(inputs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMergeTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMergeText(&b, mergeFixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "merge.txt", b.Bytes())
}

// TestMergeJSONRemergeable: the merged document reads back as a load result
// and merges again, to the same totals (a merge of merges).
func TestMergeJSONRemergeable(t *testing.T) {
	m := mergeFixture(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, MergeJSON(m)); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"requests", "latency", "latency_histogram_ns", "generators", "start_skew_ms", "started_at"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("merged JSON lacks %q", k)
		}
	}
	var again LoadDoc
	if err := json.Unmarshal(b.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	m2, err := loadresult.Merge([]loadresult.Input{{Name: "merged.json", Result: LoadResult(&again)}})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Requests != m.Requests || m2.Latency != m.Latency || m2.DurationMs != m.DurationMs {
		t.Fatalf("re-merged %+v\nwant %+v", m2.Result, m.Result)
	}
}
