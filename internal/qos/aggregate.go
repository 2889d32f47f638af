package qos

import (
	"time"

	"github.com/socklab/socklab/internal/pace"
	"github.com/socklab/socklab/internal/qos/qosresult"
	"github.com/socklab/socklab/internal/stats"
)

// total folds the streams' results into one. Counts and rates add up;
// latency percentiles come from the merged histograms; jitter, a per-flow
// estimate, is the mean over streams weighted by replies.
func total(rs []StreamResult, cols []*collector, senders []*stream) (StreamResult, *stats.Histogram) {
	var t StreamResult
	rtt := stats.NewHistogram()
	var rttSum, ipUp, ipDown, owdUpSum, owdDnSum stats.Summary
	ipUpAbs, ipDownAbs := stats.NewHistogram(), stats.NewHistogram()
	var owdUp, owdDown *stats.Histogram
	var schedErr stats.Summary
	var jitUp, jitDown float64
	for i, r := range rs {
		t.Sent += r.Sent
		t.Received += r.Received
		t.Lost += r.Lost
		t.LostUp += r.LostUp
		t.LostDown += r.LostDown
		t.Duplicates += r.Duplicates
		t.Reordered += r.Reordered
		t.Late += r.Late
		t.ReflectorDropped += r.ReflectorDropped
		t.ReflectorKnown = t.ReflectorKnown || r.ReflectorKnown
		t.ReflectorSocketDrops = max(t.ReflectorSocketDrops, r.ReflectorSocketDrops)
		jitUp += float64(r.JitterUp) * float64(r.Received)
		jitDown += float64(r.JitterDown) * float64(r.Received)

		addThroughput(&t.Throughput, r.Throughput)
		addDiag(&t.Diag, r.Diag)

		c := cols[i]
		c.mu.Lock()
		rtt.Merge(c.rtt)
		rttSum.Merge(&c.rttSum)
		ipUp.Merge(c.ipdvUp.Summary())
		ipDown.Merge(c.ipdvDown.Summary())
		ipUpAbs.Merge(c.ipdvUp.Abs())
		ipDownAbs.Merge(c.ipdvDown.Abs())
		if c.owd {
			if owdUp == nil {
				owdUp, owdDown = stats.NewHistogram(), stats.NewHistogram()
			}
			owdUp.Merge(c.owdUp)
			owdDown.Merge(c.owdDown)
			owdUpSum.Merge(&c.owdUpSum)
			owdDnSum.Merge(&c.owdDnSum)
		}
		c.mu.Unlock()
		schedErr.Merge(&senders[i].schedErr)
	}
	fillPcts(&t)
	if t.Received > 0 {
		t.JitterUp = time.Duration(jitUp / float64(t.Received))
		t.JitterDown = time.Duration(jitDown / float64(t.Received))
	}
	t.RTT = latencyOf(rtt, &rttSum)
	t.IPDVUp = ipdvOf(&ipUp, ipUpAbs)
	t.IPDVDown = ipdvOf(&ipDown, ipDownAbs)
	if owdUp != nil {
		up, down := latencyOf(owdUp, &owdUpSum), latencyOf(owdDown, &owdDnSum)
		t.OWDUp, t.OWDDown = &up, &down
	}
	t.Diag.SchedErrMean = time.Duration(schedErr.Mean())
	return t, rtt
}

// addThroughput adds one stream's rates to the total's: streams run side
// by side, so their rates sum.
func addThroughput(tp *qosresult.Throughput, r qosresult.Throughput) {
	tp.OfferedBps += r.OfferedBps
	tp.OfferedWireBps += r.OfferedWireBps
	tp.ReflectorBps += r.ReflectorBps
	tp.ReceivedBps += r.ReceivedBps
	tp.ReceivedWireBps += r.ReceivedWireBps
	tp.GoodputBps += r.GoodputBps
	tp.SentPPS += r.SentPPS
	tp.ReceivedPPS += r.ReceivedPPS
}

// addDiag folds one stream's self-limit diagnostics into the total's:
// counts add, worst cases take the maximum, a flag set by any stream stays.
func addDiag(d *qosresult.Diagnostics, r qosresult.Diagnostics) {
	d.TimerMisses += r.TimerMisses
	d.LateSends += r.LateSends
	d.SchedErrMax = max(d.SchedErrMax, r.SchedErrMax)
	d.SendErrors += r.SendErrors
	d.RecvDrops += r.RecvDrops
	d.RecvDropsKnown = d.RecvDropsKnown || r.RecvDropsKnown
	d.Foreign += r.Foreign
	d.KernelRxTime = d.KernelRxTime || r.KernelRxTime
	d.GSOSends += r.GSOSends
	if d.GSORefused == "" {
		d.GSORefused = r.GSORefused
	}
}

// combine sums per-stream interval figures into the all-streams line.
func combine(ivs []IntervalStats) IntervalStats {
	var t IntervalStats
	var rttW, jitUp, jitDown float64
	var n, nJit int64
	for i, iv := range ivs {
		if i == 0 {
			t.Start, t.End = iv.Start, iv.End
		}
		t.Sent += iv.Sent
		t.Received += iv.Received
		t.Lost += iv.Lost
		t.Duplicates += iv.Duplicates
		t.Late += iv.Late
		t.GoodputBps += iv.GoodputBps
		if iv.Received > 0 {
			if n == 0 || iv.RTTMin < t.RTTMin {
				t.RTTMin = iv.RTTMin
			}
			t.RTTMax = max(t.RTTMax, iv.RTTMax)
			rttW += float64(iv.RTTAvg) * float64(iv.Received)
			n += iv.Received
		}
		if iv.JitterKnown {
			jitUp += float64(iv.JitterUp)
			jitDown += float64(iv.JitterDown)
			nJit++
		}
	}
	if n > 0 {
		t.RTTAvg = time.Duration(rttW / float64(n))
	}
	if nJit > 0 {
		t.JitterUp = time.Duration(jitUp / float64(nJit))
		t.JitterDown = time.Duration(jitDown / float64(nJit))
		t.JitterKnown = true
	}
	return t
}

// progressEvery is how often progress events fire.
const progressEvery = 250 * time.Millisecond

// reporter emits interval and progress events until done is closed, then
// the last, partial interval.
func reporter(cfg Config, sched pace.Schedule, start time.Time, streams []*stream, done <-chan struct{}) {
	var ivC <-chan time.Time
	if cfg.ReportInterval > 0 {
		tk := time.NewTicker(cfg.ReportInterval)
		defer tk.Stop()
		ivC = tk.C
	}
	prog := time.NewTicker(progressEvery)
	defer prog.Stop()
	planned, known := sched.Planned()
	var last time.Duration
	interval := func(now time.Duration, final bool) {
		ivs := make([]IntervalStats, 0, len(streams)+1)
		for _, s := range streams {
			ivs = append(ivs, s.col.takeInterval(s.id, last, now, s.col.sent.Load(), final))
		}
		if len(streams) > 1 {
			ivs = append(ivs, combine(ivs))
		}
		if final && now-last < time.Millisecond && empty(ivs[len(ivs)-1]) {
			return // a sliver after the last tick with nothing in it
		}
		last = now
		emit(cfg, Event{Kind: EventInterval, Time: start.Add(now), Elapsed: now, Intervals: ivs})
	}
	for {
		select {
		case <-ivC:
			interval(time.Since(start), false)
		case <-prog.C:
			now := time.Since(start)
			ev := Event{Kind: EventProgress, Time: start.Add(now), Elapsed: now, Fraction: -1}
			for _, s := range streams {
				ev.Sent += s.col.sent.Load()
				s.col.mu.Lock()
				ev.Received += s.col.received
				s.col.mu.Unlock()
			}
			switch {
			case sched.Duration > 0:
				ev.Fraction = min(float64(now)/float64(sched.Duration), 1)
				if known {
					ev.Fraction = max(ev.Fraction, min(float64(ev.Sent)/float64(planned*uint64(len(streams))), 1))
				}
			case known && planned > 0:
				ev.Fraction = min(float64(ev.Sent)/float64(planned*uint64(len(streams))), 1)
			}
			emit(cfg, ev)
		case <-done:
			if cfg.ReportInterval > 0 {
				interval(time.Since(start), true)
			}
			return
		}
	}
}

func empty(iv IntervalStats) bool {
	return iv.Sent == 0 && iv.Received == 0 && iv.Duplicates == 0 && iv.Late == 0 && iv.Lost == 0
}
