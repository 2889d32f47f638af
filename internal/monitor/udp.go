package monitor

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
	"github.com/socklab/socklab/internal/stats"
)

// maxUndecided bounds the lost probes waiting for a later reply to tell
// their direction; past it the oldest are attributed upstream, as when
// nothing at all comes back.
const maxUndecided = 4096

// udpSession is one UDP target's probing state, shared by the sender and
// the receiver goroutine under mu.
type udpSession struct {
	st      *probeState
	session uint64
	base    time.Time // monotonic origin of SendMono

	mu      sync.Mutex
	pending map[uint64]time.Time // seq → send time, until answered or lost
	seq     *stats.SeqTracker
	jitUp   stats.Jitter
	jitDown stats.Jitter
	// Direction of loss (see direction.go).
	dir lossSplit
}

// probeUDP sends one qoswire probe per interval to a socklab reflector and
// matches the replies. The reflector stamps its receive and send times and
// its receive count for the session, which gives the jitter of each
// direction and which way a lost probe was lost.
func (m *Monitor) probeUDP(ctx context.Context, t Target, st *probeState) {
	conn, err := net.Dial("udp", t.Addr)
	if err != nil {
		st.onError("dial", err)
		m.log.Warn("monitor: cannot probe", "target", t.Name, "err", err)
		return
	}
	u := &udpSession{st: st, session: rand.Uint64(), base: time.Now(), pending: map[uint64]time.Time{}, seq: stats.NewSeqTracker(0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		u.receive(conn)
	}()
	buf := make([]byte, m.cfg.Size)
	var next uint64
	every(ctx, m.cfg.Interval, func(now time.Time) {
		u.expire(now, m.cfg.Timeout)
		h := qoswire.Header{Session: u.session, Seq: next, SendMono: int64(now.Sub(u.base)), SendWall: now.UnixNano()}
		if err := h.Marshal(buf); err != nil {
			return
		}
		u.mu.Lock()
		u.pending[next] = now
		u.mu.Unlock()
		if _, err := conn.Write(buf); err != nil {
			// Not sent: a local failure, not path loss.
			u.mu.Lock()
			delete(u.pending, next)
			u.mu.Unlock()
			st.onError("send", err)
			return
		}
		st.onSent(now)
		next++
	})
	conn.Close()
	<-done
}

// expire declares the probes older than timeout lost.
func (u *udpSession) expire(now time.Time, timeout time.Duration) {
	u.mu.Lock()
	var lost []time.Time
	for seq, at := range u.pending {
		if now.Sub(at) >= timeout {
			delete(u.pending, seq)
			lost = append(lost, at)
			u.dir.lost(seq)
		}
	}
	up, down := u.dir.resolve(maxUndecided)
	u.mu.Unlock()
	for _, at := range lost {
		u.st.onLost(at)
	}
	if up+down > 0 {
		u.st.onLostDirection(up, down)
	}
}

// receive reads replies until the socket is closed.
func (u *udpSession) receive(conn net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP port unreachable from an earlier probe (the reflector
			// is down): the probes still count as lost when they expire.
			u.st.onError("receive", err)
			time.Sleep(10 * time.Millisecond) // never spin on a persistent error
			continue
		}
		h, err := qoswire.Parse(buf[:n])
		if err != nil || h.Session != u.session || !h.IsReply() {
			continue
		}
		u.reply(&h, now)
	}
}

func (u *udpSession) reply(h *qoswire.Header, now time.Time) {
	u.mu.Lock()
	sentAt, pending := u.pending[h.Seq]
	verdict := u.seq.Observe(h.Seq)
	if !pending {
		u.mu.Unlock()
		if verdict == stats.Duplicate || verdict == stats.Old {
			u.st.onDuplicate()
		}
		return // a duplicate, or too late: already counted lost
	}
	delete(u.pending, h.Seq)
	rtt := int64(now.Sub(u.base)) - h.SendMono
	if d := h.Dwell(); d > 0 && d < rtt {
		rtt -= d
	}
	var up, down int64
	stamped := h.ReflRecv != 0
	if stamped {
		u.jitUp.Add(h.SendWall, h.ReflRecv)
		u.jitDown.Add(h.ReflSend, now.UnixNano())
		u.dir.reply(h.Seq, h.ReflCount)
		up, down = u.dir.resolve(maxUndecided)
	} else {
		u.dir.unstamped(h.Seq)
	}
	ju, jd := u.jitUp.Value(), u.jitDown.Value()
	u.mu.Unlock()
	u.st.onReply(sentAt, time.Duration(max(rtt, 0)))
	if verdict == stats.Reordered {
		u.st.onReordered()
	}
	if stamped {
		u.st.onJitter(ju, jd)
	}
	if up+down > 0 {
		u.st.onLostDirection(up, down)
	}
}
