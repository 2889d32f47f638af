package stats

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestSummary(t *testing.T) {
	tests := []struct {
		name                       string
		in                         []float64
		n                          int64
		min, max, mean, sum, stdev float64
	}{
		{"empty", nil, 0, 0, 0, 0, 0, 0},
		{"one", []float64{5}, 1, 5, 5, 5, 5, 0},
		// mean 5, squared deviations 9+1+1+9+0 = 20 over n=5: stddev 2.
		{"five", []float64{2, 4, 6, 8, 5}, 5, 2, 8, 5, 25, 2},
		// iputils example: 1,2,3,4 → mean 2.5, mdev sqrt(7.5−6.25)=1.118034.
		{"four", []float64{1, 2, 3, 4}, 4, 1, 4, 2.5, 10, 1.118033988749895},
		{"negative", []float64{-3, 3}, 2, -3, 3, 0, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Summary
			for _, x := range tt.in {
				s.Add(x)
			}
			if s.N() != tt.n || s.Min() != tt.min || s.Max() != tt.max || !near(s.Mean(), tt.mean, 1e-12) ||
				s.Sum() != tt.sum || !near(s.Stddev(), tt.stdev, 1e-12) {
				t.Fatalf("got n=%d min=%v max=%v mean=%v sum=%v sd=%v", s.N(), s.Min(), s.Max(), s.Mean(), s.Sum(), s.Stddev())
			}
		})
	}
}

func TestSummaryMergeEqualsSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var all, a, b Summary
	for i := 0; i < 1000; i++ {
		x := r.NormFloat64()*10 + 100
		all.Add(x)
		if i%3 == 0 {
			a.Add(x)
		} else {
			b.Add(x)
		}
	}
	var empty Summary
	a.Merge(&b)
	a.Merge(&empty)
	if a.N() != all.N() || !near(a.Mean(), all.Mean(), 1e-9) || !near(a.Stddev(), all.Stddev(), 1e-9) ||
		a.Min() != all.Min() || a.Max() != all.Max() {
		t.Fatalf("merged %+v != sequential %+v", a, all)
	}
	empty.Merge(&all)
	if empty.N() != all.N() || empty.Mean() != all.Mean() {
		t.Fatal("merge into empty lost data")
	}
}

func TestHistogramExactBelow128(t *testing.T) {
	h := NewHistogram()
	for v := int64(1); v <= 100; v++ {
		h.Record(v)
	}
	tests := []struct {
		q    float64
		want int64
	}{{0, 1}, {0.01, 1}, {0.5, 50}, {0.9, 90}, {0.95, 95}, {0.99, 99}, {1, 100}}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
	if h.Count() != 100 || h.Min() != 1 || h.Max() != 100 || h.Mean() != 50.5 {
		t.Fatalf("count/min/max/mean = %d/%d/%d/%v", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

func TestHistogramRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := NewHistogram()
	vals := make([]int64, 20000)
	for i := range vals {
		// Log-uniform from 1 µs to 10 s, in ns.
		vals[i] = int64(math.Exp(r.Float64()*math.Log(1e7)) * 1e3)
		h.Record(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.1, 0.5, 0.9, 0.95, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 1.0/128 {
			t.Errorf("q=%v: got %d, exact %d, relative error %.4f > 1/128", q, got, exact, rel)
		}
	}
}

func TestHistogramBucketsRoundTrip(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<40 + 12345, math.MaxInt64} {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d [%d,%d]", v, i, lo, hi)
		}
		if i >= maxBuckets {
			t.Errorf("value %d bucket %d out of range %d", v, i, maxBuckets)
		}
	}
}

func TestHistogramMergeNegativeEmpty(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Bins(10) != nil {
		t.Fatal("empty histogram must answer 0 and no bins")
	}
	h.Record(-5)
	if h.Min() != 0 || h.Quantile(1) != 0 {
		t.Fatal("negative must clamp to 0")
	}
	o := NewHistogram()
	o.Record(1000)
	o.Record(3000)
	h.Merge(o)
	h.Merge(nil)
	if h.Count() != 3 || h.Max() != 3000 || h.Min() != 0 {
		t.Fatalf("merge: count=%d min=%d max=%d", h.Count(), h.Min(), h.Max())
	}
}

func TestHistogramBins(t *testing.T) {
	h := NewHistogram()
	for v := int64(0); v < 100; v++ {
		h.Record(v)
	}
	bins := h.Bins(4)
	if len(bins) != 4 {
		t.Fatalf("len = %d", len(bins))
	}
	var total int64
	for i, b := range bins {
		total += b.Count
		if b.Count != 25 {
			t.Errorf("bin %d [%d,%d) count %d, want 25", i, b.Lo, b.Hi, b.Count)
		}
	}
	if total != 100 {
		t.Fatalf("bins hold %d values, want 100", total)
	}
}

// Bins never split finer than the histogram can tell values apart, nor
// than the values' own resolution: dense data draws no empty bins.
func TestHistogramBinsMatchResolution(t *testing.T) {
	for _, c := range []struct {
		name    string
		from    int64
		to      int64
		step    int64
		quantum int64
	}{
		{"finer than the buckets", 1_000_000, 1_050_000, 100, 1},     // 4096 ns buckets at 1 ms
		{"finer than the data", 100, 140, 10, 10},                    // exact buckets, 10 ns data
		{"microsecond timestamps", 2_000_000, 2_030_000, 1000, 1000}, // 30 µs at 1 µs resolution
	} {
		t.Run(c.name, func(t *testing.T) {
			h := NewHistogram()
			for v := c.from; v <= c.to; v += c.step {
				h.Record(v)
			}
			bins := h.BinsAt(40, c.quantum)
			var total int64
			for i, b := range bins {
				total += b.Count
				if b.Count == 0 {
					t.Errorf("bin %d [%d,%d) of %d is empty", i, b.Lo, b.Hi, len(bins))
				}
			}
			if total != h.Count() || len(bins) > 40 {
				t.Fatalf("%d bins hold %d of %d values", len(bins), total, h.Count())
			}
		})
	}
}

func TestJitterRFC3550(t *testing.T) {
	// Transit times 10, 12, 11, 15 → |D| = 2, 1, 4.
	// J1 = 0 + (2−0)/16 = 0.125; J2 = 0.125 + (1−0.125)/16 = 0.1796875;
	// J3 = 0.1796875 + (4−0.1796875)/16 = 0.418457031.
	var j Jitter
	sends := []int64{0, 100, 200, 300}
	transits := []int64{10, 12, 11, 15}
	for i := range sends {
		j.Add(sends[i], sends[i]+transits[i])
	}
	if !near(j.Value(), 0.41845703125, 1e-12) {
		t.Fatalf("jitter = %v, want 0.41845703125", j.Value())
	}
	// A constant clock offset changes nothing.
	var k Jitter
	for i := range sends {
		k.Add(sends[i], sends[i]+transits[i]+1e9)
	}
	if k.Value() != j.Value() {
		t.Fatal("jitter depends on clock offset")
	}
}

func TestIPDV(t *testing.T) {
	var d IPDV
	// seq: 0,1,2 consecutive, then 4 (gap: no sample), then 5.
	d.Add(0, 0, 10)
	d.Add(1, 100, 112) // +2
	d.Add(2, 200, 209) // −3
	d.Add(4, 400, 450) // no pair
	d.Add(5, 500, 551) // +1
	s := d.Summary()
	if s.N() != 3 || s.Min() != -3 || s.Max() != 2 || !near(s.Mean(), 0, 1e-12) {
		t.Fatalf("ipdv summary n=%d min=%v max=%v mean=%v", s.N(), s.Min(), s.Max(), s.Mean())
	}
	if d.Abs().Max() != 3 || d.Abs().Count() != 3 {
		t.Fatalf("abs max=%d count=%d", d.Abs().Max(), d.Abs().Count())
	}
}

func TestSeqTracker(t *testing.T) {
	tests := []struct {
		name                   string
		in                     []uint64
		want                   []Arrival
		unique, dups, reorders int64
	}{
		{"in order", []uint64{0, 1, 2, 3}, []Arrival{New, New, New, New}, 4, 0, 0},
		// RFC 4737 example: 1,2,4,3 → 3 reordered (arrives after 4).
		{"one late", []uint64{1, 2, 4, 3}, []Arrival{New, New, New, Reordered}, 4, 0, 1},
		{"dup", []uint64{0, 1, 1, 2, 0}, []Arrival{New, New, Duplicate, New, Duplicate}, 3, 2, 0},
		{"loss is not reorder", []uint64{0, 2, 3, 5}, []Arrival{New, New, New, New}, 4, 0, 0},
		{"reorder then dup", []uint64{0, 3, 1, 1, 2}, []Arrival{New, New, Reordered, Duplicate, Reordered}, 4, 1, 2},
		{"first is not zero", []uint64{5, 0}, []Arrival{New, Reordered}, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewSeqTracker(0)
			for i, s := range tt.in {
				if got := tr.Observe(s); got != tt.want[i] {
					t.Fatalf("Observe(%d) #%d = %v, want %v", s, i, got, tt.want[i])
				}
			}
			if tr.Unique() != tt.unique || tr.Duplicates() != tt.dups || tr.Reordered() != tt.reorders {
				t.Fatalf("unique/dups/reordered = %d/%d/%d", tr.Unique(), tr.Duplicates(), tr.Reordered())
			}
		})
	}
}

func TestSeqTrackerWindow(t *testing.T) {
	tr := NewSeqTracker(100) // rounds up to 128
	for s := uint64(0); s < 1000; s++ {
		tr.Observe(s)
	}
	if got := tr.Observe(999 - 200); got != Old {
		t.Fatalf("far below window: %v, want old", got)
	}
	if got := tr.Observe(999 - 10); got != Duplicate {
		t.Fatalf("inside window, seen: %v, want duplicate", got)
	}
	// A jump past the window forgets everything; numbers just below the new
	// maximum are then reordered arrivals, not duplicates.
	tr.Observe(100000)
	if got := tr.Observe(99990); got != Reordered {
		t.Fatalf("after jump: %v, want reordered", got)
	}
	if m, ok := tr.MaxSeq(); !ok || m != 100000 {
		t.Fatalf("MaxSeq = %d %v", m, ok)
	}
	// Slots reused after wrap must not report stale duplicates.
	tr2 := NewSeqTracker(64)
	for s := uint64(0); s < 64; s++ {
		tr2.Observe(s)
	}
	tr2.Observe(100) // 64..99 never arrived
	if got := tr2.Observe(70); got != Reordered {
		t.Fatalf("wrapped slot: %v, want reordered", got)
	}
}

func TestLossPct(t *testing.T) {
	for _, tt := range []struct {
		sent, recv int64
		want       float64
	}{{0, 0, 0}, {100, 95, 5}, {100, 100, 0}, {100, 120, 0}, {3, 0, 100}} {
		if got := LossPct(tt.sent, tt.recv); got != tt.want {
			t.Errorf("LossPct(%d,%d) = %v, want %v", tt.sent, tt.recv, got, tt.want)
		}
	}
}

func TestHistogramRecordAllocatesOnce(t *testing.T) {
	h := NewHistogram()
	h.Record(1)
	if a := testing.AllocsPerRun(1000, func() { h.Record(123456) }); a != 0 {
		t.Fatalf("Record allocates %v per call", a)
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	for i := 0; i < b.N; i++ {
		h.Record(int64(i & 0xFFFFF))
	}
}

func FuzzSeqTracker(f *testing.F) {
	f.Add([]byte{0, 1, 2, 4, 3, 3})
	f.Fuzz(func(t *testing.T, seqs []byte) {
		tr := NewSeqTracker(64)
		seen := map[uint64]bool{}
		for _, b := range seqs {
			s := uint64(b)
			got := tr.Observe(s)
			if got == Duplicate && !seen[s] {
				t.Fatalf("%d called duplicate before it was seen", s)
			}
			if got == New && seen[s] {
				t.Fatalf("%d called new twice", s)
			}
			if got != Old {
				seen[s] = true
			}
		}
		if tr.Unique() > int64(len(seen)) {
			t.Fatalf("unique %d > distinct %d", tr.Unique(), len(seen))
		}
	})
}

func TestHistogramStddevMatchesSummary(t *testing.T) {
	h, o := NewHistogram(), NewHistogram()
	var s Summary
	for i, v := range []int64{1000, 2000, 3000, 7000, 150000, 151000, 90} {
		s.Add(float64(v))
		if i%2 == 0 {
			h.Record(v)
		} else {
			o.Record(v)
		}
	}
	h.Merge(o)
	if got, want := h.Stddev(), s.Stddev(); math.Abs(got-want) > 1e-6*want {
		t.Errorf("Stddev = %g, want %g (Welford)", got, want)
	}
	if NewHistogram().Stddev() != 0 {
		t.Error("empty histogram: Stddev != 0")
	}
}
