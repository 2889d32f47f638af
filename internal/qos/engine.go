package qos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socklab/socklab/internal/pace"
	"github.com/socklab/socklab/internal/qoswire"
	"github.com/socklab/socklab/internal/stats"
)

// Tester runs QoS tests. It holds only configuration, so one Tester may Run
// several times, one run at a time or concurrently.
type Tester struct {
	cfg Config
}

// New checks cfg, fills its defaults and returns a Tester.
func New(cfg Config) (*Tester, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Tester{cfg: c}, nil
}

// Config returns the effective configuration, defaults filled in.
func (t *Tester) Config() Config { return t.cfg }

// Run is New(cfg) followed by Run(ctx).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	t, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return t.Run(ctx)
}

// stream is one session: a socket, its sender's bookkeeping and the
// collector its receiver feeds.
type stream struct {
	id      int
	conn    *net.UDPConn
	col     *collector
	kernTS  bool
	hasOvfl bool
	drops   atomic.Uint32
	// report receives the reflector's answer to the end-of-run report
	// request (qoswire report): what it counted and dropped by policy.
	report chan reflReport
	flags  uint8 // qoswire flags of every probe (FlagOneWay)

	// Owned by the sender goroutine; read after it ends.
	missed   int64
	late     int64
	schedErr stats.Summary
	sendErrs int64
	spinOver float64 // EWMA of how late the timer wakes us, ns
	gsoSends int64   // segmented sends (UDP_SEGMENT) that left
	gsoOff   string  // the kernel's refusal that turned segmentation off
}

// Run sends the probes, waits for stragglers and returns what it measured.
// Cancelling ctx stops the sending early; the run still waits for replies
// in flight and returns a result (with Interrupted set) and no error. An
// error means the test could not run at all (bad target, no socket).
func (t *Tester) Run(ctx context.Context) (*Result, error) {
	cfg := t.cfg
	if cfg.TCP != "" {
		return runTCP(ctx, cfg)
	}
	raddr, streams, err := openStreams(cfg)
	if err != nil {
		return nil, err
	}
	sched := cfg.schedule()
	lateAfter := cfg.Wait // an explicit wait is also each probe's deadline

	start := time.Now()
	wallBase := start.UnixNano()
	sers := make([]*series, len(streams))
	for i, s := range streams {
		sers[i] = newSeries(seriesWidth(sched, cfg.SeriesPoints), cfg.SeriesPoints)
		s.col = newCollector(rand.Uint64(), cfg.Size, wallBase, cfg.OWD, lateAfter, sers[i])
	}
	res := &Result{Target: raddr.String(), Protocol: "udp", Start: start, Size: cfg.Size, Interval: cfg.Interval, Rate: cfg.Rate, OneWay: cfg.OneWay}
	emit(cfg, Event{Kind: EventStart, Time: start, Config: &cfg})
	cfg.Logger.Debug("qos start", "target", res.Target, "streams", cfg.Streams, "size", cfg.Size,
		"interval", cfg.Interval, "count", cfg.Count, "duration", cfg.Duration)

	var recvWG, sendWG sync.WaitGroup
	for _, s := range streams {
		recvWG.Add(1)
		go func() { defer recvWG.Done(); s.receive(start) }()
	}
	for _, s := range streams {
		sendWG.Add(1)
		// Isochronous probes (an interval) spin for their slot; a bit rate
		// or a burst does not.
		spin := cfg.Rate == 0 && !cfg.Burst
		go func() { defer sendWG.Done(); s.send(ctx, start, wallBase, sched, spin) }()
	}
	repDone := make(chan struct{})
	repWG := sync.WaitGroup{}
	repWG.Add(1)
	go func() { defer repWG.Done(); reporter(cfg, sched, start, streams, repDone) }()

	sendWG.Wait()
	res.SendDuration = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	awaitStragglers(ctx, cfg, streams, res)
	reports := requestReports(ctx, streams, res.Interrupted, cfg.OneWay)

	close(repDone)
	repWG.Wait()
	for _, s := range streams {
		s.conn.Close()
	}
	recvWG.Wait()
	res.Elapsed = time.Since(start)

	collectResults(cfg, res, streams, reports, wireOverhead(raddr))
	res.Series = mergeSeries(sers).points()
	if n, ok := sched.Planned(); ok {
		res.Planned = int64(n) * int64(len(streams))
	}
	res.Warnings = warnings(res)
	if cfg.OneWay && len(reports) < len(streams) && !res.Interrupted {
		return nil, fmt.Errorf("qos: one-way: %s sent no report of what arrived (is it socklab serve?)", res.Target)
	}
	cfg.Logger.Debug("qos done", "target", res.Target, "sent", res.Total.Sent, "received", res.Total.Received,
		"wait", res.Wait, "elapsed", res.Elapsed, "interrupted", res.Interrupted)
	emit(cfg, Event{Kind: EventEnd, Time: time.Now(), Elapsed: res.Elapsed, Result: res})
	return res, nil
}

// openStreams resolves the target and dials one connected UDP socket per
// stream; on a failure it closes the sockets it had opened.
func openStreams(cfg Config) (*net.UDPAddr, []*stream, error) {
	raddr, err := net.ResolveUDPAddr(cfg.Network, cfg.Target)
	if err != nil {
		return nil, nil, fmt.Errorf("qos: resolve %s: %w", cfg.Target, err)
	}
	streams := make([]*stream, cfg.Streams)
	for i := range streams {
		c, err := net.DialUDP(cfg.Network, nil, raddr)
		if err != nil {
			for _, s := range streams[:i] {
				s.conn.Close()
			}
			return nil, nil, fmt.Errorf("qos: dial udp %s: %w", raddr, err)
		}
		ts, ovfl := tuneSocket(c)
		streams[i] = &stream{id: i + 1, conn: c, kernTS: ts, hasOvfl: ovfl, spinOver: float64(500 * time.Microsecond),
			report: make(chan reflReport, 1)}
		if cfg.OneWay {
			streams[i].flags = qoswire.FlagOneWay
		}
	}
	return raddr, streams, nil
}

// wireOverhead is the IP and UDP header bytes each probe carries on the
// wire to raddr.
func wireOverhead(raddr *net.UDPAddr) int {
	if raddr.IP.To4() == nil {
		return 48 // IPv6 40 + UDP 8
	}
	return 28 // IPv4 20 + UDP 8
}

// awaitStragglers waits, once the sending has ended, for the replies still
// in flight, sets res.Wait, closes the collectors and then listens a grace
// period longer.
func awaitStragglers(ctx context.Context, cfg Config, streams []*stream, res *Result) {
	// Straggler wait: an explicit Wait, or twice the slowest reply so far
	// (at least MinWait), recomputed as replies come in; over early when
	// every probe is accounted for.
	waitFor := func() time.Duration {
		if cfg.Wait > 0 {
			return cfg.Wait
		}
		var m time.Duration
		for _, s := range streams {
			m = max(m, s.col.maxRTT())
		}
		return max(2*m, MinWait)
	}
	allAnswered := func() bool {
		if cfg.OneWay {
			return false // nothing comes back: wait the whole (short) wait for probes in flight
		}
		// A cancel that comes during the wait (the schedule had ended)
		// cuts the wait short; one that stopped the sending does not, so
		// that the replies in flight still count.
		if !res.Interrupted && ctx.Err() != nil {
			return true
		}
		for _, s := range streams {
			if !s.col.answered() {
				return false
			}
		}
		return true
	}
	sendEnd := res.Start.Add(res.SendDuration)
	pollUntil(func() time.Time { return sendEnd.Add(waitFor()) }, allAnswered)
	res.Wait = waitFor()
	// Replies after the wait are late: listen a little longer so they are
	// counted as such rather than vanishing into "lost".
	for _, s := range streams {
		s.col.close()
	}
	graceEnd := time.Now().Add(min(res.Wait/2, 500*time.Millisecond))
	pollUntil(func() time.Time { return graceEnd }, allAnswered)
}

// collectResults fills res.Streams, res.Total and res.RTT from the streams'
// collectors, their senders' diagnostics and the reflector's reports.
func collectResults(cfg Config, res *Result, streams []*stream, reports map[*stream]qoswire.Report, wire int) {
	for _, s := range streams {
		sr := s.col.result(s.id, res.SendDuration, wire)
		sr.Diag.TimerMisses = s.missed
		sr.Diag.LateSends = s.late
		sr.Diag.SchedErrMean = time.Duration(s.schedErr.Mean())
		sr.Diag.SchedErrMax = time.Duration(s.schedErr.Max())
		sr.Diag.SendErrors = s.sendErrs
		sr.Diag.RecvDrops = int64(s.drops.Load())
		sr.Diag.RecvDropsKnown = s.hasOvfl
		sr.Diag.KernelRxTime = s.kernTS
		sr.Diag.GSOSends = s.gsoSends
		sr.Diag.GSORefused = s.gsoOff
		if rep, ok := reports[s]; ok {
			if cfg.OneWay {
				applyOneWay(&sr, rep, s.col.size)
			} else {
				applyReport(&sr, rep)
			}
		}
		res.Streams = append(res.Streams, sr)
	}
	cols := make([]*collector, len(streams))
	senders := make([]*stream, len(streams))
	for i, s := range streams {
		cols[i], senders[i] = s.col, s
	}
	res.Total, res.RTT = total(res.Streams, cols, senders)
}

// seriesWidth picks the first bucket width so a planned run fills the
// series without merging; the series doubles it if the run goes longer.
func seriesWidth(s pace.Schedule, points int) time.Duration {
	span := s.Duration
	if n, ok := s.Planned(); ok && s.Interval > 0 {
		span = time.Duration(n) * s.Interval
	}
	if span <= 0 {
		return 10 * time.Millisecond
	}
	return max(span/time.Duration(points), time.Millisecond)
}

// pollUntil returns when done() holds or deadline() has passed.
func pollUntil(deadline func() time.Time, done func() bool) {
	for !done() {
		left := time.Until(deadline())
		if left <= 0 {
			return
		}
		time.Sleep(min(left, 2*time.Millisecond))
	}
}

func emit(cfg Config, ev Event) {
	if cfg.OnEvent != nil {
		cfg.OnEvent(ev)
	}
}

// sendBatch is the most probes one sendmmsg(2) carries.
const sendBatch = 64

// send runs the stream's schedule until it ends or ctx is cancelled. The
// probes due at the same moment (a burst, or a bit rate whose interval is
// shorter than a timer wake-up) leave together in one batched write.
func (s *stream) send(ctx context.Context, start time.Time, wallBase int64, sched pace.Schedule, spin bool) {
	bw := newBatchWriter(s.conn, s.col.size)
	defer func() {
		s.gsoSends = bw.gsoSends
		if bw.gsoRefused != nil {
			s.gsoOff = bw.gsoRefused.Error()
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var slot, sent uint64
	for ctx.Err() == nil {
		st := sched.Pace(time.Since(start), slot, sent)
		if st.Stop {
			return
		}
		s.missed += int64(st.Missed)
		if st.Wait > 0 && !s.sleepUntil(ctx, start, sched.Due(st.Slot), timer, spin) {
			return
		}
		// Stamp and queue every probe due by now, up to a batch.
		bw.reset()
		for {
			due := sched.Due(st.Slot)
			mono := int64(time.Since(start))
			if sched.Interval > 0 {
				lateBy := max(mono-int64(due), 0)
				s.schedErr.Add(float64(lateBy))
				if lateBy >= int64(sched.Interval) {
					s.late++
				}
			}
			h := qoswire.Header{Flags: s.flags, Session: s.col.session, Seq: sent + uint64(bw.n), SendMono: mono, SendWall: wallBase + mono}
			bw.add(&h, mono)
			slot = st.Slot + 1
			if bw.n == sendBatch {
				break
			}
			st = sched.Pace(time.Since(start), slot, sent+uint64(bw.n))
			if st.Stop || st.Wait > 0 {
				break
			}
			s.missed += int64(st.Missed)
		}
		// Publish the sequence numbers before the probes leave, so a
		// reply can never look like one to a probe not yet sent.
		s.col.sent.Store(int64(sent) + int64(bw.n))
		n, err := bw.flush()
		s.col.series.sent(bw.monos[:n])
		sent += uint64(n)
		if err != nil {
			s.sendErrs += int64(bw.n - n) // the failed probe and the rest of its batch
			s.col.sent.Store(int64(sent)) // not sent: the numbers are reused
			if errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}
}

// sleepUntil waits until due (from start): a timer for most of the way,
// then a spin for the last stretch, sized from how late the timer has been
// waking us, so that sub-millisecond intervals hold. It returns false when
// ctx is cancelled.
//
// Without spin (a bit rate, where probes may leave a little late and catch
// up in a batch) it sleeps on the timer alone: spinning streams would take
// the CPU the sender and the reflector need.
func (s *stream) sleepUntil(ctx context.Context, start time.Time, due time.Duration, timer *time.Timer, spin bool) bool {
	if !spin {
		timer.Reset(due - time.Since(start))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
			return true
		}
	}
	spinFor := time.Duration(min(max(2*s.spinOver+float64(100*time.Microsecond), float64(100*time.Microsecond)), float64(2*time.Millisecond)))
	if left := due - time.Since(start); left > spinFor {
		wake := due - spinFor
		timer.Reset(wake - time.Since(start))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
		over := float64(time.Since(start) - wake)
		s.spinOver = 0.9*s.spinOver + 0.1*max(over, 0)
	}
	for time.Since(start) < due {
		runtime.Gosched()
	}
	return true
}

// receive reads replies until the socket is closed.
func (s *stream) receive(start time.Time) {
	buf := make([]byte, 65536)
	oob := make([]byte, oobSize)
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUDP(buf, oob)
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// An ICMP error from an earlier probe (port unreachable)
			// surfaces here on a connected socket; keep listening.
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		rx := int64(now.Sub(start))
		ts, drops, haveDrops := parseOOB(oob[:oobn])
		if ts != 0 {
			// The kernel's stamp is on the wall clock; move it onto the
			// monotonic one through the wall reading taken with now.
			if d := now.UnixNano() - ts; d >= 0 && d < int64(time.Second) {
				rx -= d
			}
		}
		if haveDrops {
			s.drops.Store(drops)
		}
		h, err := qoswire.Parse(buf[:n])
		if err != nil {
			s.col.mu.Lock()
			s.col.foreign++
			s.col.mu.Unlock()
			continue
		}
		if h.Flags&qoswire.FlagReport != 0 {
			if sess, r, ok, err := qoswire.ParseReport(buf[:n]); err == nil && sess == s.col.session {
				select {
				case s.report <- reflReport{Report: r, ok: ok}:
				default: // a duplicate answer
				}
			}
			continue
		}
		s.col.add(reply{hdr: h, size: n, rxMono: rx})
	}
}
