package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
	"github.com/socklab/socklab/internal/stats"
)

// monoEpoch anchors the monotonic send stamps carried in probes: RTT is the
// difference of two readings of this process's monotonic clock, so it needs
// no clock synchronisation.
var monoEpoch = time.Now()

func monoNs(t time.Time) int64 { return int64(t.Sub(monoEpoch)) }

// errReply is what the receiver passes to a waiting sender when the socket
// reported an error (ICMP port unreachable): no reply is coming.
const errReply = ^uint64(0)

// udpReceiver owns what the receiving goroutine measures; the sender reads
// it only after the receiver has ended.
type udpReceiver struct {
	session  uint64
	hist     *stats.Histogram
	observe  func(time.Duration) // Config.OnLatency, may be nil
	seq      *stats.SeqTracker
	bytes    int64
	errors   map[string]int64
	received atomic.Int64 // unique replies, read by the sender while draining
	replies  chan uint64  // sequence numbers of replies, for the closed loop
	report   chan qoswire.Report
}

// runUDP is one UDP client: a connected socket, a session id, qoswire probes
// with sequence numbers. In closed loop it waits for each reply (or
// Timeout) before the next probe; in open loop it follows the schedule and a
// receiver goroutine collects the replies.
func (l *Load) runUDP(ctx context.Context, stop <-chan struct{}, c *clientStats, start time.Time) {
	c.udp = &UDPStats{}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", l.udpAddr)
	if err != nil {
		c.requests++
		c.failErr(err)
		l.done.Add(1)
		l.failed.Add(1)
		return
	}
	rx := &udpReceiver{
		session: rand.Uint64(),
		hist:    c.hist,
		observe: l.cfg.OnLatency,
		seq:     stats.NewSeqTracker(0),
		errors:  map[string]int64{},
		replies: make(chan uint64, 1),
		report:  make(chan qoswire.Report, 1),
	}
	rxDone := make(chan struct{})
	go func() {
		defer close(rxDone)
		rx.loop(conn)
	}()

	timer := newStoppedTimer()
	defer timer.Stop()
	l.sendProbes(ctx, stop, c, start, conn, rx, timer)
	// Open loop: give the replies still in flight up to Timeout to come
	// back. (Closed loop already waited for each one.)
	if l.sched.open() && rx.received.Load() < c.udp.Sent {
		awaitInFlight(ctx, rx, c.udp.Sent, timer, l.cfg.Timeout)
	}
	var capped int64
	if rx.received.Load() > 0 && ctx.Err() == nil {
		capped = askReport(conn, rx, timer)
	}
	conn.Close()
	<-rxDone
	l.tallyUDP(c, rx, capped)
}

// sendProbes sends this client's probes on the schedule until it stops; in
// closed loop each waits for its reply.
func (l *Load) sendProbes(ctx context.Context, stop <-chan struct{}, c *clientStats, start time.Time, conn net.Conn, rx *udpReceiver, timer *time.Timer) {
	buf := make([]byte, l.cfg.Size)
	var seq uint64
	for {
		t0, ok := l.nextDue(stop, start, timer)
		if !ok {
			return
		}
		h := qoswire.Header{Session: rx.session, Seq: seq, SendMono: monoNs(t0), SendWall: time.Now().UnixNano()}
		_ = h.Marshal(buf) // buf is at least HeaderLen (checked in New)
		c.requests++
		l.done.Add(1)
		if _, err := conn.Write(buf); err != nil {
			c.failErr(err)
			l.failed.Add(1)
			continue
		}
		c.udp.Sent++
		seq++
		if !l.sched.open() {
			l.awaitReply(ctx, rx, seq-1, timer)
		}
	}
}

// awaitInFlight waits until sent replies have arrived, timeout has passed
// or ctx ends.
func awaitInFlight(ctx context.Context, rx *udpReceiver, sent int64, timer *time.Timer, timeout time.Duration) {
	timer.Reset(timeout)
	for rx.received.Load() < sent {
		select {
		case <-rx.replies:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// tallyUDP fills the client's figures from what its receiver counted; capped
// is what the reflector's rate cap says it dropped.
func (l *Load) tallyUDP(c *clientStats, rx *udpReceiver, capped int64) {
	got := rx.received.Load()
	c.successes = got
	c.bytes = rx.bytes
	c.udp.Received = got
	c.udp.Duplicates = rx.seq.Duplicates()
	c.udp.Lost = max(c.udp.Sent-got, 0)
	c.udp.LossPct = stats.LossPct(c.udp.Sent, got)
	if c.udp.Lost > 0 {
		l.failed.Add(c.udp.Lost)
	}
	// What the reflector's cap dropped is its limit: named, not "lost".
	capped = min(capped, c.udp.Lost)
	if capped > 0 {
		c.errors[KindReflectorCap] += capped
	}
	attributeLost(c.errors, c.udp.Lost-capped, rx.errors)
}

// askReport asks the reflector what its rate cap dropped of this client's
// session (a qoswire report); 0 when it does not answer within 150 ms.
func askReport(conn net.Conn, rx *udpReceiver, timer *time.Timer) int64 {
	buf := make([]byte, qoswire.ReportLen)
	_ = qoswire.MarshalReportRequest(buf, rx.session)
	for range 2 {
		if _, err := conn.Write(buf); err != nil {
			return 0
		}
		timer.Reset(150 * time.Millisecond)
		select {
		case r := <-rx.report:
			timer.Stop()
			return int64(r.DroppedRate)
		case <-timer.C:
		}
	}
	return 0
}

// attributeLost files each lost probe under exactly one kind: the socket
// errors the receiver saw (an ICMP port unreachable answers a probe that was
// sent) explain as many lost probes as they number, the rest are KindLost.
// A probe is one request, so it is never counted twice.
func attributeLost(errs map[string]int64, lost int64, seen map[string]int64) {
	kinds := make([]string, 0, len(seen))
	for k := range seen {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		n := min(seen[k], lost)
		if n > 0 {
			errs[k] += n
			lost -= n
		}
	}
	if lost > 0 {
		errs[KindLost] += lost
	}
}

// awaitReply waits for the reply to probe want, a socket error, or Timeout.
func (l *Load) awaitReply(ctx context.Context, rx *udpReceiver, want uint64, timer *time.Timer) {
	timer.Reset(l.cfg.Timeout)
	for {
		select {
		case s := <-rx.replies:
			if s == want || s == errReply {
				timer.Stop()
				return
			}
		case <-timer.C:
			return
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// loop reads replies until the socket is closed. Datagrams that are not
// replies to this session's probes are ignored.
func (rx *udpReceiver) loop(conn net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A connected UDP socket reports an ICMP error from an earlier
			// probe on the next read (ECONNREFUSED); keep reading.
			rx.errors[ErrorKind(err)]++
			notify(rx.replies, errReply)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				time.Sleep(time.Millisecond) // never spin on a persistent error
			}
			continue
		}
		h, err := qoswire.Parse(buf[:n])
		if err != nil || h.Session != rx.session {
			continue
		}
		if h.Flags&qoswire.FlagReport != 0 {
			if _, r, ok, err := qoswire.ParseReport(buf[:n]); err == nil && ok {
				select {
				case rx.report <- r:
				default:
				}
			}
			continue
		}
		switch rx.seq.Observe(h.Seq) {
		case stats.Duplicate, stats.Old:
			continue
		}
		rtt := monoNs(now) - h.SendMono
		rx.hist.Record(rtt)
		if rx.observe != nil {
			rx.observe(time.Duration(max(rtt, 0)))
		}
		rx.bytes += int64(n)
		rx.received.Add(1)
		notify(rx.replies, h.Seq)
	}
}

// notify hands v to a waiting sender without ever blocking the receiver: an
// older unread value is replaced.
func notify(ch chan uint64, v uint64) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
