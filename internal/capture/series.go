package capture

// seriesLen is the number of buckets a time series keeps. The bucket width
// starts at the analyzer's interval (1 ms for a series nobody started) and
// doubles (merging neighbours) whenever a timestamp falls past the last
// bucket, so a series covers any duration in fixed memory.
const seriesLen = 64

const seriesStartWidth = int64(1e6) // 1 ms

// rateSeries sums bytes per bucket of capture time from t0.
type rateSeries struct {
	t0    int64
	width int64
	bytes [seriesLen]int64
}

// start sets the series' origin and first bucket width, unless it has
// one. Every throughput series of a capture starts at the capture's first
// packet with the same width, so their buckets line up on one time axis.
func (s *rateSeries) start(t0, width int64) {
	if s.width == 0 {
		s.t0, s.width = t0, width
	}
}

// widenTo merges buckets until they are at least w wide: a flow that ended
// early has narrower buckets than the whole capture, and a chart draws them
// at one width.
func (s *rateSeries) widenTo(w int64) {
	for s.width != 0 && s.width < w {
		s.widen()
	}
}

func (s *rateSeries) add(ts int64, n int) {
	if s.width == 0 {
		s.t0, s.width = ts, seriesStartWidth
	}
	d := max(ts-s.t0, 0) // a timestamp that goes backwards counts in the first bucket
	for d/s.width >= seriesLen {
		s.widen()
	}
	s.bytes[d/s.width] += int64(n)
}

func (s *rateSeries) widen() {
	for i := 0; i < seriesLen/2; i++ {
		s.bytes[i] = s.bytes[2*i] + s.bytes[2*i+1]
	}
	clear(s.bytes[seriesLen/2:])
	s.width *= 2
}

// points returns the series as bits per second per bucket, X in seconds
// since base, from the first to the last non-empty bucket.
func (s *rateSeries) points(base int64) []RatePoint {
	if s.width == 0 {
		return nil
	}
	first, last := -1, -1
	for i, b := range s.bytes {
		if b > 0 {
			last = i
			if first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		return nil
	}
	out := make([]RatePoint, 0, last-first+1)
	for i := first; i <= last; i++ {
		start := s.t0 + int64(i)*s.width
		out = append(out, RatePoint{
			T:     float64(start-base) / 1e9,
			Width: float64(s.width) / 1e9,
			Bps:   float64(s.bytes[i]) * 8 / (float64(s.width) / 1e9),
		})
	}
	return out
}

// rttBucket accumulates the probes sent in one bucket of a QoS session.
type rttBucket struct {
	sent, answered int64
	min, max, sum  int64
}

// rttSeries follows a QoS session over time by request send time.
type rttSeries struct {
	t0      int64
	width   int64
	buckets [seriesLen]rttBucket
}

func (s *rttSeries) bucket(ts int64) *rttBucket {
	if s.width == 0 {
		s.t0, s.width = ts, seriesStartWidth
	}
	d := ts - s.t0
	if d < 0 {
		return &s.buckets[0]
	}
	for d/s.width >= seriesLen {
		s.widen()
	}
	return &s.buckets[d/s.width]
}

func (s *rttSeries) widen() {
	for i := 0; i < seriesLen/2; i++ {
		a, b := s.buckets[2*i], s.buckets[2*i+1]
		m := rttBucket{sent: a.sent + b.sent, answered: a.answered + b.answered, sum: a.sum + b.sum}
		switch {
		case a.answered == 0:
			m.min, m.max = b.min, b.max
		case b.answered == 0:
			m.min, m.max = a.min, a.max
		default:
			m.min, m.max = min(a.min, b.min), max(a.max, b.max)
		}
		s.buckets[i] = m
	}
	clear(s.buckets[seriesLen/2:])
	s.width *= 2
}

func (s *rttSeries) request(ts int64) { s.bucket(ts).sent++ }

func (s *rttSeries) answer(reqTs, rtt int64) {
	b := s.bucket(reqTs)
	if b.answered == 0 || rtt < b.min {
		b.min = rtt
	}
	b.max = max(b.max, rtt)
	b.sum += rtt
	b.answered++
}

func (s *rttSeries) points(base int64) []RTTPoint {
	if s.width == 0 {
		return nil
	}
	last := -1
	for i, b := range s.buckets {
		if b.sent > 0 || b.answered > 0 {
			last = i
		}
	}
	out := make([]RTTPoint, 0, last+1)
	for i := 0; i <= last; i++ {
		b := s.buckets[i]
		p := RTTPoint{
			T:     float64(s.t0+int64(i)*s.width-base) / 1e9,
			Width: float64(s.width) / 1e9,
			Sent:  b.sent,
			Lost:  max(b.sent-b.answered, 0),
		}
		if b.answered > 0 {
			p.MinMs, p.MaxMs = ms(float64(b.min)), ms(float64(b.max))
			p.AvgMs = ms(float64(b.sum) / float64(b.answered))
			p.Answered = b.answered
		}
		out = append(out, p)
	}
	return out
}

// RatePoint is the throughput of one bucket of a flow, for charts.
type RatePoint struct {
	T     float64 // bucket start, seconds since the capture start
	Width float64 // bucket width, seconds: the same for every series of a capture
	Bps   float64
}

// RTTPoint summarises the probes sent in one bucket of a QoS session.
type RTTPoint struct {
	T, Width            float64 // seconds since the capture start, bucket width
	Sent, Answered      int64
	Lost                int64 // sent in this bucket and never answered in the capture
	MinMs, AvgMs, MaxMs float64
}
