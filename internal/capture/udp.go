package capture

import (
	"hash/maphash"

	"github.com/socklab/socklab/internal/qoswire"
	"github.com/socklab/socklab/internal/stats"
)

const (
	qosMaxSessions = 4    // qoswire sessions followed per flow
	qosRing        = 1024 // outstanding requests remembered per session
	qosSeqWindow   = 4096 // reorder/duplicate window (RFC 4737) per direction
	echoRing       = 16   // recent request payloads remembered for echo RTT
	echoHashBytes  = 512  // payload prefix hashed to match echoes
)

type udpState struct {
	sessions []*qosSession
	probes   int64 // qoswire packets (including those of sessions not followed)
	plain    [2]int64
	jitter   [2]gapJitter
	echo     *echoState
	rtt      latency // echo RTT of non-probe traffic
}

func (a *Analyzer) udpPacket(f *flow, d int, p *packet) {
	s := f.udp
	if s == nil {
		s = &udpState{}
		f.udp = s
	}
	if h, err := qoswire.Parse(p.payload); err == nil {
		s.probes++
		if q := a.session(s, h.Session); q != nil {
			q.add(a, &h, p.ts)
		}
		return
	}
	s.plain[d]++
	s.jitter[d].add(p.ts)
	if len(p.payload) == 0 {
		return
	}
	if d == 0 {
		if s.echo == nil {
			s.echo = &echoState{}
		}
		s.echo.request(a.hashPayload(p.payload), p.ts)
	} else if s.echo != nil {
		if req, ok := s.echo.reply(a.hashPayload(p.payload)); ok {
			s.rtt.add(a, p.ts-req)
		}
	}
}

func (a *Analyzer) hashPayload(b []byte) uint64 {
	n := len(b)
	if len(b) > echoHashBytes {
		b = b[:echoHashBytes]
	}
	return maphash.Bytes(a.seed, b) ^ uint64(n)
}

// gapJitter is RFC 3550 §6.4.1 interarrival jitter for streams that carry no
// send timestamp: the sender is assumed to keep its pace, so the expected
// send gap of a packet is the previous arrival gap, and D is the change in
// arrival gap.
type gapJitter struct {
	j       stats.Jitter
	last    int64
	lastGap int64
	sendNs  int64 // synthetic send clock
	n       int64
}

func (g *gapJitter) add(ts int64) {
	g.n++
	if g.n > 1 {
		gap := ts - g.last
		g.sendNs += g.lastGap
		g.lastGap = gap
	}
	g.last = ts
	if g.n >= 2 {
		g.j.Add(g.sendNs, ts)
	}
}

// echoState matches replies that mirror a recent request's payload.
type echoState struct {
	ring [echoRing]struct {
		hash  uint64
		ts    int64
		valid bool
	}
	next int
}

func (e *echoState) request(h uint64, ts int64) {
	e.ring[e.next] = struct {
		hash  uint64
		ts    int64
		valid bool
	}{h, ts, true}
	e.next = (e.next + 1) % echoRing
}

func (e *echoState) reply(h uint64) (int64, bool) {
	for i := range e.ring {
		r := &e.ring[i]
		if r.valid && r.hash == h {
			r.valid = false
			return r.ts, true
		}
	}
	return 0, false
}

// qosSession follows one qoswire sender: requests (reply flag clear) and the
// reflector's replies, wherever the capture was taken.
type qosSession struct {
	id       uint64
	req, rep *stats.SeqTracker
	reqCount int64
	repCount int64
	ring     *[qosRing]qosReq
	rtt      latency
	jitFwd   stats.Jitter // requests: sender clock vs capture clock
	jitRev   stats.Jitter // replies: reflector clock vs capture clock
	ipdvFwd  *stats.IPDV
	ipdvRev  *stats.IPDV
	dwell    stats.Summary
	reflMax  uint64 // highest reflector receive count seen
	series   rttSeries
}

type qosReq struct {
	seq     uint64
	ts      int64
	valid   bool
	matched bool
}

// session finds or starts the state of a qoswire session; nil when the flow
// already follows qosMaxSessions or the analyzer's budget is spent.
func (a *Analyzer) session(s *udpState, id uint64) *qosSession {
	for _, q := range s.sessions {
		if q.id == id {
			return q
		}
	}
	if len(s.sessions) >= qosMaxSessions || a.sessions >= a.cfg.MaxSessions {
		return nil
	}
	a.sessions++
	q := &qosSession{
		id:   id,
		req:  stats.NewSeqTracker(qosSeqWindow),
		rep:  stats.NewSeqTracker(qosSeqWindow),
		ring: new([qosRing]qosReq),
	}
	if a.takeHistograms(2) {
		q.ipdvFwd, q.ipdvRev = &stats.IPDV{}, &stats.IPDV{}
	}
	s.sessions = append(s.sessions, q)
	return q
}

func (q *qosSession) add(a *Analyzer, h *qoswire.Header, ts int64) {
	send := h.SendWall
	if send == 0 {
		send = h.SendMono
	}
	if !h.IsReply() {
		q.reqCount++
		if q.req.Observe(h.Seq) == stats.Duplicate {
			return
		}
		q.jitFwd.Add(send, ts)
		if q.ipdvFwd != nil {
			q.ipdvFwd.Add(h.Seq, send, ts)
		}
		q.ring[h.Seq%qosRing] = qosReq{seq: h.Seq, ts: ts, valid: true}
		q.series.request(ts)
		return
	}
	q.repCount++
	q.reflMax = max(q.reflMax, h.ReflCount)
	if q.rep.Observe(h.Seq) == stats.Duplicate {
		return
	}
	if h.ReflSend != 0 {
		q.jitRev.Add(h.ReflSend, ts)
		if q.ipdvRev != nil {
			q.ipdvRev.Add(h.Seq, h.ReflSend, ts)
		}
	}
	dwell := h.Dwell()
	if dwell > 0 {
		q.dwell.Add(float64(dwell))
	}
	if r := &q.ring[h.Seq%qosRing]; r.valid && r.seq == h.Seq && !r.matched {
		r.matched = true
		// Like socklab qos, the RTT leaves out the time the probe spent
		// inside the reflector (its two stamps come from one clock).
		rtt := ts - r.ts
		if dwell > 0 && dwell < rtt {
			rtt -= dwell
		}
		q.rtt.add(a, rtt)
		if rtt >= 0 {
			q.series.answer(r.ts, rtt)
		}
	}
}
