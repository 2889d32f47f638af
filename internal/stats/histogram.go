package stats

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// subBits sets the histogram's precision: each power-of-two range is split
// into 2^subBits linear sub-buckets, so a quantile is off by at most
// 1/2^subBits of its value (under 0.8%), about 10 ns at a 1.3 µs RTT.
const (
	subBits    = 7
	subCount   = 1 << subBits
	maxBuckets = subCount + (64-subBits-1)*subCount
)

// Histogram counts non-negative int64 values (nanoseconds, for latencies) in
// log-linear buckets, like HdrHistogram: values below 128 are exact, larger
// ones keep 7 significant bits. Memory is fixed (at most ~58 KiB, allocated on
// the first Record) whatever the number of samples, so a 24-hour test runs in
// constant memory. The zero value is not ready: use NewHistogram.
type Histogram struct {
	counts   []int64
	count    int64
	min, max int64
	sum      float64
	sumSq    float64 // for Stddev
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{} }

func bucketOf(v int64) int {
	u := uint64(v)
	if u < subCount {
		return int(u)
	}
	e := bits.Len64(u) - subBits - 1
	return subCount + e*subCount + int(u>>uint(e)) - subCount
}

// bucketRange is the inclusive range of values that fall in bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	e := (i - subCount) / subCount
	m := int64((i-subCount)%subCount + subCount)
	return m << uint(e), (m+1)<<uint(e) - 1
}

// Record adds one value; negative values count as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.counts == nil {
		h.counts = make([]int64, maxBuckets)
	}
	h.counts[bucketOf(v)]++
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.count++
	h.sum += float64(v)
	h.sumSq += float64(v) * float64(v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.count == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]int64, maxBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.count += o.count
	h.sum += o.sum
	h.sumSq += o.sumSq
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.count }

// Min is the smallest recorded value (exact), 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Max is the largest recorded value (exact), 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean of the recorded values, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count)
}

// Stddev is the population standard deviation of the recorded values
// (from exact sums, not from the buckets), 0 when empty.
func (h *Histogram) Stddev() float64 {
	if h.count == 0 {
		return 0
	}
	m := h.sum / float64(h.count)
	return math.Sqrt(max(h.sumSq/float64(h.count)-m*m, 0))
}

// Quantile returns the value at quantile q in [0, 1] by the nearest-rank
// method: the smallest recorded value such that at least q·count values are
// less or equal. Within a bucket it answers the bucket's midpoint, clamped to
// the exact min and max. It returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	if q <= 0 || math.IsNaN(q) {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := int64(math.Ceil(q * float64(h.count)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// Bin is one bar of a chart histogram: Count values in [Lo, Hi).
type Bin struct {
	Lo, Hi int64
	Count  int64
}

// Bins spreads the recorded values over at most n equal-width bins from Min
// to Max, for drawing. Each bucket's count goes to the bin holding its
// midpoint. A bin is never narrower than the histogram's resolution at Max
// (a bucket wider than a bin would leave every other bin empty, a comb that
// is not in the data), nor than quantum, the resolution of the values
// themselves (1 µs for pcap timestamps; 0 or 1 for none): n shrinks instead.
func (h *Histogram) Bins(n int) []Bin { return h.BinsAt(n, 1) }

// BinsAt is Bins for values that are multiples of quantum.
func (h *Histogram) BinsAt(n int, quantum int64) []Bin {
	if h.count == 0 || n <= 0 {
		return nil
	}
	span := h.max - h.min + 1
	width := (span + int64(n) - 1) / int64(n)
	lo, hi := bucketRange(bucketOf(h.max))
	width = max(width, hi-lo+1, quantum, 1)
	if quantum > 1 {
		width = (width + quantum - 1) / quantum * quantum
	}
	n = int((span + width - 1) / width)
	out := make([]Bin, n)
	for i := range out {
		out[i].Lo = h.min + int64(i)*width
		out[i].Hi = out[i].Lo + width
	}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		lo, hi := bucketRange(i)
		mid := min(max(lo+(hi-lo)/2, h.min), h.max)
		k := int((mid - h.min) / width)
		if k >= n {
			k = n - 1
		}
		out[k].Count += c
	}
	return out
}

// HistogramLayout names the bucket layout in a histogram's JSON form, so that
// a reader with another layout refuses the data instead of misreading it.
const HistogramLayout = "log-linear-7"

// histogramJSON is the wire form of a Histogram: every figure needed to
// rebuild it exactly, with only the non-empty buckets as [index, count]
// pairs. Sum is a float64 and round-trips exactly through JSON.
type histogramJSON struct {
	Layout  string     `json:"layout"`
	Count   int64      `json:"count"`
	Min     int64      `json:"min"`
	Max     int64      `json:"max"`
	Sum     float64    `json:"sum"`
	SumSq   float64    `json:"sum_sq"`
	Buckets [][2]int64 `json:"buckets"`
}

// MarshalJSON encodes h losslessly: UnmarshalJSON rebuilds the same buckets,
// so histograms from several machines merge as if one had recorded it all.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	out := histogramJSON{Layout: HistogramLayout, Count: h.count, Min: h.min, Max: h.max, Sum: h.sum, SumSq: h.sumSq, Buckets: [][2]int64{}}
	for i, c := range h.counts {
		if c != 0 {
			out.Buckets = append(out.Buckets, [2]int64{int64(i), c})
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON rebuilds a histogram written by MarshalJSON. It checks the
// layout and that the buckets add up to the count and agree with min and max,
// so a hand-edited or truncated file is an error, not a wrong percentile.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var in histogramJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("histogram: %w", err)
	}
	if in.Layout != HistogramLayout {
		return fmt.Errorf("histogram: layout %q, want %q", in.Layout, HistogramLayout)
	}
	out := Histogram{min: in.Min, max: in.Max, sum: in.Sum, sumSq: in.SumSq}
	if in.Count < 0 || in.Min < 0 || in.Max < in.Min || !finite(in.Sum) || !finite(in.SumSq) || in.SumSq < 0 {
		return errors.New("histogram: negative or inconsistent count, min, max or sum")
	}
	prev := -1
	for _, p := range in.Buckets {
		i, c := p[0], p[1]
		if i <= int64(prev) || i >= maxBuckets || c <= 0 {
			return fmt.Errorf("histogram: bucket [%d, %d]: index out of order or out of range, or count not positive", i, c)
		}
		if out.counts == nil {
			out.counts = make([]int64, maxBuckets)
		}
		if out.count > math.MaxInt64-c {
			return errors.New("histogram: counts overflow")
		}
		out.counts[i] = c
		out.count += c
		prev = int(i)
	}
	if out.count != in.Count {
		return fmt.Errorf("histogram: buckets hold %d values, count says %d", out.count, in.Count)
	}
	if out.count > 0 {
		first, last := -1, 0
		for i, c := range out.counts {
			if c != 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if lo, hi := bucketRange(first); in.Min < lo || in.Min > hi {
			return fmt.Errorf("histogram: min %d is not in the lowest bucket [%d, %d]", in.Min, lo, hi)
		}
		if lo, hi := bucketRange(last); in.Max < lo || in.Max > hi {
			return fmt.Errorf("histogram: max %d is not in the highest bucket [%d, %d]", in.Max, lo, hi)
		}
		// The sum is a float64 whose rounding may stray a little past
		// count·min or count·max, hence the tolerance.
		n := float64(out.count)
		if in.Sum < n*float64(in.Min)*(1-1e-9)-1 || in.Sum > n*float64(in.Max)*(1+1e-9)+1 {
			return fmt.Errorf("histogram: sum %g is not between count·min and count·max", in.Sum)
		}
	} else if in.Min != 0 || in.Max != 0 || in.Sum != 0 || in.SumSq != 0 {
		return errors.New("histogram: an empty histogram has min, max and sum 0")
	}
	*h = out
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
