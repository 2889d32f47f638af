package stats

import "math"

// Jitter is the RFC 3550 §6.4.1 interarrival jitter estimate: for each
// packet, D is the change in transit time (arrival minus send timestamp)
// from the previous packet, and J += (|D| − J)/16. Only differences of
// transit times are used, so the sender's and receiver's clocks need not be
// synchronised. It is the figure iperf3 reports as jitter. The zero value is
// ready to use.
type Jitter struct {
	j           float64
	prevTransit int64
	have        bool
}

// Add records a packet, in arrival order, from its send and receive times.
func (j *Jitter) Add(sendNs, recvNs int64) {
	transit := recvNs - sendNs
	if j.have {
		d := math.Abs(float64(transit - j.prevTransit))
		j.j += (d - j.j) / 16
	}
	j.prevTransit = transit
	j.have = true
}

// Value is the current jitter estimate in nanoseconds.
func (j *Jitter) Value() float64 { return j.j }

// IPDV is the inter-packet delay variation of RFC 3393 as RFC 5481 §4.1
// selects pairs: consecutive sequence numbers. Each sample is the one-way
// delay of packet n minus that of packet n−1; clock offsets cancel, so no
// synchronisation is needed. The zero value is ready to use.
type IPDV struct {
	prevSeq     uint64
	prevTransit int64
	have        bool
	signed      Summary
	abs         *Histogram
}

// Add records a packet, in arrival order; only a packet whose sequence
// number follows the previous arrival's gives a sample.
func (d *IPDV) Add(seq uint64, sendNs, recvNs int64) {
	transit := recvNs - sendNs
	if d.have && seq == d.prevSeq+1 {
		v := transit - d.prevTransit
		d.signed.Add(float64(v))
		if d.abs == nil {
			d.abs = NewHistogram()
		}
		if v < 0 {
			v = -v
		}
		d.abs.Record(v)
	}
	d.prevSeq, d.prevTransit, d.have = seq, transit, true
}

// Summary describes the signed samples (ns): the mean is near zero on a
// stable path; min and max show the extremes in each direction.
func (d *IPDV) Summary() *Summary { return &d.signed }

// Abs holds |IPDV| samples (ns) for percentiles such as p95 and max.
func (d *IPDV) Abs() *Histogram {
	if d.abs == nil {
		d.abs = NewHistogram()
	}
	return d.abs
}

// LossPct is the share of sent packets not received, in percent; 0 when
// nothing was sent. A negative result (more received than sent) clamps to 0.
func LossPct(sent, received int64) float64 {
	if sent <= 0 || received >= sent {
		return 0
	}
	return float64(sent-received) * 100 / float64(sent)
}
