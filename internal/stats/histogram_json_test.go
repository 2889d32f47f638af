package stats

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// sameHistogram reports whether a and b hold the same buckets and exact
// figures (the sum may differ in its last bits with the order of addition).
func sameHistogram(a, b *Histogram) bool {
	ac, bc := a.counts, b.counts
	if ac == nil {
		ac = make([]int64, maxBuckets)
	}
	if bc == nil {
		bc = make([]int64, maxBuckets)
	}
	return a.count == b.count && a.min == b.min && a.max == b.max && slices.Equal(ac, bc) &&
		near(a.sum, b.sum, 1e-9*max(1, a.sum)) && near(a.sumSq, b.sumSq, 1e-9*max(1, a.sumSq))
}

// TestHistogramJSONMergeIsExact is the property socklab merge relies on:
// three histograms written to JSON, read back and merged equal one histogram
// that recorded every value, so every quantile is the same.
func TestHistogramJSONMergeIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	all := NewHistogram()
	parts := []*Histogram{NewHistogram(), NewHistogram(), NewHistogram()}
	for i := 0; i < 30000; i++ {
		v := int64(r.ExpFloat64() * 2e6) // ~2 ms exponential latencies
		if i%97 == 0 {
			v = r.Int64N(200) // some exact small values
		}
		all.Record(v)
		parts[r.IntN(3)].Record(v)
	}
	merged := NewHistogram()
	for _, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back := NewHistogram()
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if !sameHistogram(p, back) {
			t.Fatal("JSON round trip changed the histogram")
		}
		merged.Merge(back)
	}
	if !sameHistogram(all, merged) {
		t.Fatal("merged histogram differs from the one fed all values")
	}
	if !near(all.Stddev(), merged.Stddev(), 1e-6*all.Stddev()) {
		t.Errorf("stddev: all %g, merged %g", all.Stddev(), merged.Stddev())
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		if a, m := all.Quantile(q), merged.Quantile(q); a != m {
			t.Errorf("q%.3f: all %d, merged %d", q, a, m)
		}
	}
}

func TestHistogramJSONEmpty(t *testing.T) {
	b, err := json.Marshal(NewHistogram())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"layout":"log-linear-7","count":0,"min":0,"max":0,"sum":0,"sum_sq":0,"buckets":[]}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	h := NewHistogram()
	if err := json.Unmarshal(b, h); err != nil || h.Count() != 0 || h.Quantile(0.99) != 0 {
		t.Fatalf("empty round trip: %v, count %d", err, h.Count())
	}
}

func TestHistogramJSONRejects(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"layout", `{"layout":"hdr","count":0,"buckets":[]}`, "layout"},
		{"count", `{"layout":"log-linear-7","count":3,"min":5,"max":5,"sum":10,"buckets":[[5,2]]}`, "hold 2 values"},
		{"order", `{"layout":"log-linear-7","count":2,"min":5,"max":6,"sum":11,"buckets":[[6,1],[5,1]]}`, "out of order"},
		{"range", `{"layout":"log-linear-7","count":1,"min":5,"max":5,"sum":5,"buckets":[[99999,1]]}`, "out of range"},
		{"zero count", `{"layout":"log-linear-7","count":0,"min":5,"max":5,"sum":5,"buckets":[[5,0]]}`, "not positive"},
		{"min outside", `{"layout":"log-linear-7","count":1,"min":4,"max":5,"sum":5,"buckets":[[5,1]]}`, "min 4"},
		{"max outside", `{"layout":"log-linear-7","count":1,"min":5,"max":9,"sum":5,"buckets":[[5,1]]}`, "max 9"},
		{"sum", `{"layout":"log-linear-7","count":1,"min":5,"max":5,"sum":500,"buckets":[[5,1]]}`, "sum 500"},
		{"negative", `{"layout":"log-linear-7","count":-1,"buckets":[]}`, "negative"},
		{"empty with min", `{"layout":"log-linear-7","count":0,"min":3,"max":3,"buckets":[]}`, "empty"},
		{"not json", `[1,2]`, "histogram:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHistogram()
			err := json.Unmarshal([]byte(tt.in), h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if h.Count() != 0 {
				t.Fatal("a rejected document changed the histogram")
			}
		})
	}
}

// FuzzHistogramJSON: any input either fails cleanly or yields a histogram
// that is self-consistent and survives a second round trip unchanged.
func FuzzHistogramJSON(f *testing.F) {
	f.Add(`{"layout":"log-linear-7","count":2,"min":5,"max":300,"sum":305,"buckets":[[5,1],[165,1]]}`)
	f.Add(`{"layout":"log-linear-7","count":0,"min":0,"max":0,"sum":0,"buckets":[]}`)
	f.Fuzz(func(t *testing.T, in string) {
		h := NewHistogram()
		if err := json.Unmarshal([]byte(in), h); err != nil {
			return
		}
		if m := h.Mean(); h.Count() > 0 && (m < float64(h.Min())*(1-1e-6)-1 || m > float64(h.Max())*(1+1e-6)+1) {
			t.Fatalf("mean %g outside [%d, %d]", m, h.Min(), h.Max())
		}
		if q := h.Quantile(0.99); q < h.Min() || q > h.Max() {
			t.Fatalf("p99 %d outside [%d, %d]", q, h.Min(), h.Max())
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		again := NewHistogram()
		if err := json.Unmarshal(b, again); err != nil || !sameHistogram(h, again) {
			t.Fatalf("second round trip: %v", err)
		}
	})
}
