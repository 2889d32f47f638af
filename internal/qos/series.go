package qos

import (
	"sync"
	"time"
)

// series is the RTT-over-time record behind the report's charts. Probes are
// filed by send time into buckets of equal width; when the run outgrows
// maxPoints buckets, neighbours are merged and the width doubles, so a
// 24-hour run keeps at most maxPoints buckets.
type series struct {
	mu      sync.Mutex
	width   int64 // ns
	max     int
	buckets []bucket
}

type bucket struct {
	sent, recv     int64
	rttMin, rttMax int64
	rttSum         float64
	jitter         int64
}

func (b *bucket) merge(o *bucket) {
	if o.recv > 0 {
		if b.recv == 0 || o.rttMin < b.rttMin {
			b.rttMin = o.rttMin
		}
		b.rttMax = max(b.rttMax, o.rttMax)
	}
	b.sent += o.sent
	b.recv += o.recv
	b.rttSum += o.rttSum
	b.jitter = max(b.jitter, o.jitter)
}

// newSeries starts with buckets of width (at least 1ms) and keeps at most
// maxPoints of them.
func newSeries(width time.Duration, maxPoints int) *series {
	if width < time.Millisecond {
		width = time.Millisecond
	}
	if maxPoints < 2 {
		maxPoints = 2
	}
	return &series{width: int64(width), max: maxPoints}
}

// at returns the bucket holding time t (ns since start), growing and
// compacting as needed; nil for negative times. Callers hold mu.
func (s *series) at(t int64) *bucket {
	if t < 0 {
		return nil
	}
	i := t / s.width
	for i >= int64(s.max) {
		s.compact()
		i = t / s.width
	}
	for int64(len(s.buckets)) <= i {
		s.buckets = append(s.buckets, bucket{})
	}
	return &s.buckets[i]
}

// compact merges neighbouring buckets pairwise and doubles the width.
func (s *series) compact() {
	n := (len(s.buckets) + 1) / 2
	for i := 0; i < n; i++ {
		b := s.buckets[2*i]
		if 2*i+1 < len(s.buckets) {
			b.merge(&s.buckets[2*i+1])
		}
		s.buckets[i] = b
	}
	s.buckets = s.buckets[:n]
	s.width *= 2
}

// sent files a batch of probes by their send times, under one lock.
func (s *series) sent(ts []int64) {
	s.mu.Lock()
	for _, t := range ts {
		if b := s.at(t); b != nil {
			b.sent++
		}
	}
	s.mu.Unlock()
}

// mergeSeries sums the streams' series into one: each stream keeps its
// own, so that streams share no lock per probe, and they are brought to
// the widest one's width here, at the end. They all started at one width
// and doubled, so the widths line up.
func mergeSeries(all []*series) *series {
	out := &series{width: all[0].width, max: all[0].max}
	for _, s := range all {
		s.mu.Lock()
		out.width = max(out.width, s.width)
	}
	for _, s := range all {
		for s.width < out.width {
			s.compact()
		}
		for i := range s.buckets {
			out.at(int64(i) * s.width).merge(&s.buckets[i])
		}
		s.mu.Unlock()
	}
	return out
}

func (s *series) reply(sendT, rtt, jitter int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.at(sendT)
	if b == nil {
		return
	}
	b.merge(&bucket{recv: 1, rttMin: rtt, rttMax: rtt, rttSum: float64(rtt), jitter: jitter})
}

func (s *series) points() []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Point, 0, len(s.buckets))
	for i, b := range s.buckets {
		p := Point{T: time.Duration(int64(i) * s.width), Width: time.Duration(s.width), Sent: b.sent, Received: b.recv, Jitter: time.Duration(b.jitter)}
		if b.recv > 0 {
			p.RTTMin, p.RTTMax = time.Duration(b.rttMin), time.Duration(b.rttMax)
			p.RTTAvg = time.Duration(b.rttSum / float64(b.recv))
		}
		out = append(out, p)
	}
	return out
}
