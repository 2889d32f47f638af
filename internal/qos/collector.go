package qos

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
	"github.com/socklab/socklab/internal/stats"
)

// verdict is how the collector filed one datagram; tests assert on it.
type verdict int

const (
	vReceived  verdict = iota
	vReordered         // received, but after a higher sequence number
	vDuplicate
	vLate
	vForeign // not a reply to this session, or a sequence never sent
)

// reply is one datagram as the receiver saw it.
type reply struct {
	hdr    qoswire.Header
	size   int   // UDP payload bytes
	rxMono int64 // receive time, ns since the run's start (monotonic)
}

// collector accumulates one stream's replies. The receiver goroutine feeds
// it, the reporter reads interval snapshots; mu guards everything but sent.
type collector struct {
	session  uint64
	size     int
	wallBase int64 // Unix ns at mono 0: sender "wall" = wallBase + mono, immune to clock steps
	owd      bool

	sent atomic.Int64 // probes handed to the socket; written by the sender

	mu        sync.Mutex
	lateAfter int64 // a reply slower than this (ns) is late; 0: no limit
	closed    bool  // the wait is over: every reply now is late
	seq       *stats.SeqTracker
	rtt       *stats.Histogram
	rttSum    stats.Summary
	maxRaw    int64 // largest arrival − send time, for the automatic wait
	jitUp     stats.Jitter
	jitDown   stats.Jitter
	ipdvUp    stats.IPDV
	ipdvDown  stats.IPDV
	owdUp     *stats.Histogram
	owdDown   *stats.Histogram
	owdUpSum  stats.Summary
	owdDnSum  stats.Summary

	received, dups, reordered, late, foreign int64
	datagrams, datagramBytes, goodBytes      int64

	// Reflector count bookkeeping for the up/down loss split and the
	// reflector-side rate.
	reflMaxCount              uint64
	reflMaxSeq                uint64
	reflFirstT, reflLastT     int64
	reflFirstCnt, reflLastCnt uint64

	// Interval accumulators, reset by takeInterval.
	ivSent, ivRecv, ivDups, ivLate, ivGood int64
	ivRTT                                  stats.Summary
	ivGaps                                 int64 // gaps (max seq + 1 − unique) at the last snapshot

	series *series // shared with the other streams; may be nil
}

func newCollector(session uint64, size int, wallBase int64, owd bool, lateAfter time.Duration, s *series) *collector {
	c := &collector{
		session: session, size: size, wallBase: wallBase, owd: owd,
		lateAfter: int64(lateAfter),
		seq:       stats.NewSeqTracker(0),
		rtt:       stats.NewHistogram(),
		series:    s,
	}
	if owd {
		c.owdUp, c.owdDown = stats.NewHistogram(), stats.NewHistogram()
	}
	return c
}

// add files one received datagram.
func (c *collector) add(r reply) verdict {
	h := &r.hdr
	if h.Session != c.session || !h.IsReply() || h.Seq >= uint64(c.sent.Load()) {
		c.mu.Lock()
		c.foreign++
		c.mu.Unlock()
		return vForeign
	}
	raw := r.rxMono - h.SendMono
	rtt := raw
	// Subtract the reflector's dwell time; a dwell longer than the whole
	// round trip means the reflector's stamps are wrong, so ignore them.
	if d := h.Dwell(); d > 0 && d < raw {
		rtt -= d
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.datagrams++
	c.datagramBytes += int64(r.size)
	c.noteReflector(h)

	switch c.seq.Observe(h.Seq) {
	case stats.Duplicate, stats.Old:
		c.dups++
		c.ivDups++
		return vDuplicate
	case stats.Reordered:
		if c.isLate(raw) {
			return c.fileLate()
		}
		c.reordered++
		c.accept(r, raw, rtt)
		return vReordered
	default:
		if c.isLate(raw) {
			return c.fileLate()
		}
		c.accept(r, raw, rtt)
		return vReceived
	}
}

func (c *collector) isLate(raw int64) bool {
	return c.closed || (c.lateAfter > 0 && raw > c.lateAfter)
}

func (c *collector) fileLate() verdict {
	c.late++
	c.ivLate++
	return vLate
}

func (c *collector) noteReflector(h *qoswire.Header) {
	if h.ReflCount > c.reflMaxCount {
		c.reflMaxCount, c.reflMaxSeq = h.ReflCount, h.Seq
	}
	if h.ReflRecv == 0 {
		return
	}
	if c.reflFirstT == 0 || h.ReflRecv < c.reflFirstT {
		c.reflFirstT, c.reflFirstCnt = h.ReflRecv, h.ReflCount
	}
	if h.ReflRecv > c.reflLastT {
		c.reflLastT, c.reflLastCnt = h.ReflRecv, h.ReflCount
	}
}

// accept records a unique in-time reply.
func (c *collector) accept(r reply, raw, rtt int64) {
	h := &r.hdr
	c.received++
	c.goodBytes += int64(r.size)
	c.ivRecv++
	c.ivGood += int64(r.size)
	c.rtt.Record(rtt)
	c.rttSum.Add(float64(rtt))
	c.ivRTT.Add(float64(rtt))
	c.maxRaw = max(c.maxRaw, raw)

	// Per direction: sender clock → reflector clock and back. Both
	// estimators use transit-time differences, so the clock offset cancels.
	rxWall := c.wallBase + r.rxMono
	if h.ReflRecv != 0 {
		c.jitUp.Add(h.SendWall, h.ReflRecv)
		c.jitDown.Add(h.ReflSend, rxWall)
		c.ipdvUp.Add(h.Seq, h.SendWall, h.ReflRecv)
		c.ipdvDown.Add(h.Seq, h.ReflSend, rxWall)
		if c.owd {
			up, down := h.ReflRecv-h.SendWall, rxWall-h.ReflSend
			c.owdUp.Record(up)
			c.owdDown.Record(down)
			c.owdUpSum.Add(float64(up))
			c.owdDnSum.Add(float64(down))
		}
	}
	if c.series != nil {
		c.series.reply(h.SendMono, rtt, int64(c.jitUp.Value()))
	}
}

// close ends the wait: replies from now on are late.
func (c *collector) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// answered reports whether every probe sent has been answered or filed late.
func (c *collector) answered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received+c.late >= c.sent.Load()
}

func (c *collector) maxRTT() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.maxRaw)
}

// takeInterval returns the interval's figures and starts a new interval.
// The final interval comes after the straggler wait: every probe still
// unanswered then is lost, gap or not, so the intervals' losses add up to
// the run's.
func (c *collector) takeInterval(stream int, start, end time.Duration, sentNow int64, final bool) IntervalStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	gaps := int64(0)
	if m, ok := c.seq.MaxSeq(); ok {
		gaps = int64(m) + 1 - c.seq.Unique()
	}
	if final {
		gaps = max(sentNow-c.received, 0)
	}
	iv := IntervalStats{
		Stream: stream, Start: start, End: end,
		Sent: sentNow - c.ivSent, Received: c.ivRecv, Duplicates: c.ivDups, Late: c.ivLate,
		Lost:        max(gaps-c.ivGaps, 0),
		JitterUp:    time.Duration(c.jitUp.Value()),
		JitterDown:  time.Duration(c.jitDown.Value()),
		JitterKnown: c.received >= 2,
	}
	if c.ivRTT.N() > 0 {
		iv.RTTMin = time.Duration(c.ivRTT.Min())
		iv.RTTAvg = time.Duration(c.ivRTT.Mean())
		iv.RTTMax = time.Duration(c.ivRTT.Max())
	}
	if d := end - start; d > 0 {
		iv.GoodputBps = float64(c.ivGood*8) / d.Seconds()
	}
	c.ivSent, c.ivRecv, c.ivDups, c.ivLate, c.ivGood = sentNow, 0, 0, 0, 0
	c.ivRTT = stats.Summary{}
	c.ivGaps = gaps
	return iv
}

// anyReply reports whether the reflector answered at least once.
func (c *collector) anyReply() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.datagrams > 0
}

// result freezes the stream's figures; sendDur is the send phase and wire
// the per-datagram IP+UDP header bytes.
func (c *collector) result(stream int, sendDur time.Duration, wire int) StreamResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent := c.sent.Load()
	r := StreamResult{
		Stream: stream, Session: c.session,
		Sent: sent, Received: c.received,
		Duplicates: c.dups, Reordered: c.reordered, Late: c.late,
		RTT:        latencyOf(c.rtt, &c.rttSum),
		JitterUp:   time.Duration(c.jitUp.Value()),
		JitterDown: time.Duration(c.jitDown.Value()),
		IPDVUp:     ipdvOf(c.ipdvUp.Summary(), c.ipdvUp.Abs()),
		IPDVDown:   ipdvOf(c.ipdvDown.Summary(), c.ipdvDown.Abs()),
	}
	r.Lost = max(sent-c.received, 0)
	r.LostUp, r.LostDown = splitLoss(sent, r.Lost, c.received+c.late, c.reflMaxSeq, c.reflMaxCount)
	fillPcts(&r)
	if c.owd {
		up, down := latencyOf(c.owdUp, &c.owdUpSum), latencyOf(c.owdDown, &c.owdDnSum)
		r.OWDUp, r.OWDDown = &up, &down
	}
	r.Diag.Foreign = c.foreign
	if s := sendDur.Seconds(); s > 0 {
		t := &r.Throughput
		t.OfferedBps = float64(sent*int64(c.size)*8) / s
		t.OfferedWireBps = float64(sent*int64(c.size+wire)*8) / s
		t.ReceivedBps = float64(c.datagramBytes*8) / s
		t.ReceivedWireBps = float64((c.datagramBytes+c.datagrams*int64(wire))*8) / s
		t.GoodputBps = float64(c.goodBytes*8) / s
		t.SentPPS = float64(sent) / s
		t.ReceivedPPS = float64(c.received) / s
	}
	if dt := c.reflLastT - c.reflFirstT; dt > 0 && c.reflLastCnt > c.reflFirstCnt {
		r.Throughput.ReflectorBps = float64((c.reflLastCnt-c.reflFirstCnt)*uint64(c.size)*8) / time.Duration(dt).Seconds()
	}
	return r
}

// splitLoss divides lost probes into upstream (never reached the reflector)
// and downstream (reflected, reply missing or late). The reply carrying the
// highest reflector count, for sequence s with count n, says that of the
// first s+1 probes n arrived, so s+1−n were lost upstream. Probes after s
// have no witness; they are split in the same proportion. answered counts
// replies that prove the reflector saw the probe (received or late).
func splitLoss(sent, lost, answered int64, maxSeq, maxCount uint64) (up, down int64) {
	if lost <= 0 {
		return 0, 0
	}
	if answered == 0 || maxCount == 0 {
		// No reply at all: nothing shows the reflector saw a probe.
		return lost, 0
	}
	covered := int64(maxSeq) + 1
	upCovered := min(max(covered-int64(maxCount), 0), covered)
	tail := max(sent-covered, 0)
	up = upCovered + int64(float64(tail)*float64(upCovered)/float64(covered)+0.5)
	up = min(up, lost)
	return up, lost - up
}

func fillPcts(r *StreamResult) {
	r.LossPct = 0
	if r.Sent > 0 {
		// Over Lost, not Sent − Received: what the reflector dropped by
		// policy is not path loss.
		r.LossPct = float64(r.Lost) * 100 / float64(r.Sent)
	}
	if r.Sent > 0 {
		r.LossUpPct = float64(r.LostUp) * 100 / float64(r.Sent)
		r.LossDownPct = float64(r.LostDown) * 100 / float64(r.Sent)
	}
}

func latencyOf(h *stats.Histogram, s *stats.Summary) Latency {
	if h == nil || h.Count() == 0 {
		return Latency{}
	}
	return Latency{
		N:      h.Count(),
		Min:    time.Duration(h.Min()),
		Avg:    time.Duration(h.Mean()),
		P50:    time.Duration(h.Quantile(0.50)),
		P90:    time.Duration(h.Quantile(0.90)),
		P95:    time.Duration(h.Quantile(0.95)),
		P99:    time.Duration(h.Quantile(0.99)),
		Max:    time.Duration(h.Max()),
		Stddev: time.Duration(s.Stddev()),
	}
}

func ipdvOf(s *stats.Summary, abs *stats.Histogram) IPDV {
	if s.N() == 0 {
		return IPDV{}
	}
	return IPDV{N: s.N(), Mean: time.Duration(s.Mean()), P95: time.Duration(abs.Quantile(0.95)), Max: time.Duration(abs.Max())}
}
