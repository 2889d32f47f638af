package capture

// TCP analysis, from the capture point's view: handshake RTT (SYN to the
// ACK that completes the handshake), per-segment RTT from data/ACK pairs
// with Karn's rule (RFC 6298 §3: no sample from a retransmitted segment),
// retransmissions, out-of-order segments, zero windows.

// seqLT and friends compare 32-bit sequence numbers modulo 2^32 (RFC 9293 §3.4).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }

const (
	tcpPendingMax = 16 // unacknowledged data segments remembered per direction
	tcpHolesMax   = 4  // sequence gaps remembered per direction
)

type pendingSeg struct {
	end   uint32 // sequence number just past the segment
	ts    int64
	valid bool // false once Karn's rule disqualifies it
}

type seqHole struct{ from, to uint32 } // [from, to)

// tcpDir is the sender state of one direction.
type tcpDir struct {
	seen     bool
	nextSeq  uint32 // highest sequence number sent + 1
	ackSeen  bool
	lastAck  uint32
	pending  [tcpPendingMax]pendingSeg // FIFO ring, ends increasing
	head, n  int
	holes    [tcpHolesMax]seqHole
	nholes   int
	payload  int64
	segments int64
}

type tcpState struct {
	dir          [2]tcpDir
	synTs        int64
	synDir       int
	synAmbiguous bool
	synAckTs     int64
	handshakeRTT int64 // ns; 0 until measured
	rtt          latency
	retrans      int64
	outOfOrder   int64
	zeroWindows  int64
	resets       int64
	http         *httpState
}

func (a *Analyzer) tcpPacket(f *flow, d int, p *packet) {
	s := f.tcp
	if s == nil {
		s = &tcpState{}
		f.tcp = s
	}
	// Handshake: SYN, SYN-ACK, then the client's first ACK.
	switch {
	case p.flags&tcpSYN != 0 && p.flags&tcpACK == 0:
		switch {
		case s.synTs == 0:
			s.synTs, s.synDir = p.ts, d
		case s.synAckTs == 0:
			// A retransmitted SYN: which copy the SYN-ACK answers is
			// ambiguous, so Karn's rule leaves the handshake unmeasured.
			s.synAmbiguous = true
		}
	case p.flags&tcpSYN != 0 && p.flags&tcpACK != 0:
		if s.synTs != 0 && s.synAckTs == 0 {
			s.synAckTs = p.ts
		}
	case p.flags&tcpACK != 0 && s.synAckTs != 0 && s.handshakeRTT == 0 && d == s.synDir && !s.synAmbiguous:
		if rtt := p.ts - s.synTs; rtt >= 0 {
			s.handshakeRTT = max(rtt, 1)
		}
	}
	if p.flags&tcpRST != 0 {
		s.resets++
	}
	if p.win == 0 && p.flags&(tcpSYN|tcpFIN|tcpRST) == 0 {
		s.zeroWindows++
	}

	me := &s.dir[d]
	other := &s.dir[1-d]
	seqLen := uint32(p.segLen)
	if p.flags&tcpSYN != 0 {
		seqLen++
	}
	if p.flags&tcpFIN != 0 {
		seqLen++
	}
	fresh := a.tcpSequence(s, me, p, seqLen)
	if p.segLen > 0 {
		me.payload += int64(p.segLen)
		me.segments++
		if fresh {
			a.httpSegment(f, d, p.payload)
		}
	}
	if p.flags&tcpACK != 0 {
		a.tcpAck(s, other, p)
	}
}

// tcpSequence classifies the segment and remembers new data for RTT
// sampling. It reports whether the segment carried new data.
func (a *Analyzer) tcpSequence(s *tcpState, me *tcpDir, p *packet, seqLen uint32) bool {
	end := p.seq + seqLen
	if !me.seen {
		me.seen = true
		me.nextSeq = end
		if p.segLen > 0 {
			me.push(end, p.ts)
		}
		return true
	}
	if seqLen == 0 {
		return false
	}
	if !seqLT(p.seq, me.nextSeq) {
		if seqGT(p.seq, me.nextSeq) {
			me.addHole(me.nextSeq, p.seq)
		}
		me.nextSeq = end
		if p.segLen > 0 {
			me.push(end, p.ts)
		}
		return true
	}
	// The segment starts below what was already sent: it either fills a
	// gap (out of order: sent earlier, seen later) or is a retransmission.
	if me.fillHole(p.seq, end) {
		s.outOfOrder++
	} else {
		s.retrans++
		// Karn: an ACK covering this range may answer either copy.
		me.invalidateFrom(p.seq)
	}
	if seqGT(end, me.nextSeq) {
		me.nextSeq = end
	}
	return false
}

func (d *tcpDir) push(end uint32, ts int64) {
	if d.n == tcpPendingMax { // forget the oldest
		d.head = (d.head + 1) % tcpPendingMax
		d.n--
	}
	d.pending[(d.head+d.n)%tcpPendingMax] = pendingSeg{end: end, ts: ts, valid: true}
	d.n++
}

func (d *tcpDir) invalidateFrom(seq uint32) {
	for i := 0; i < d.n; i++ {
		e := &d.pending[(d.head+i)%tcpPendingMax]
		if seqGT(e.end, seq) {
			e.valid = false
		}
	}
}

func (d *tcpDir) addHole(from, to uint32) {
	if d.nholes == tcpHolesMax { // forget the oldest gap
		copy(d.holes[:], d.holes[1:])
		d.nholes--
	}
	d.holes[d.nholes] = seqHole{from, to}
	d.nholes++
}

// fillHole reports whether [seq, end) lies in a remembered gap and shrinks
// the gap accordingly.
func (d *tcpDir) fillHole(seq, end uint32) bool {
	for i := 0; i < d.nholes; i++ {
		h := &d.holes[i]
		if seqLT(seq, h.from) || !seqLT(seq, h.to) {
			continue
		}
		switch {
		case seq == h.from && !seqLT(end, h.to):
			copy(d.holes[i:], d.holes[i+1:d.nholes])
			d.nholes--
		case seq == h.from:
			h.from = end
		case !seqLT(end, h.to):
			h.to = seq
		default: // splits the gap; keep the first part only (bounded state)
			h.to = seq
		}
		return true
	}
	return false
}

// tcpAck takes an RTT sample when an ACK advances over remembered segments
// of the other direction: the newest segment it fully covers.
func (a *Analyzer) tcpAck(s *tcpState, other *tcpDir, p *packet) {
	if other.ackSeen && !seqGT(p.ack, other.lastAck) {
		return // duplicate or old ACK: no sample
	}
	other.ackSeen, other.lastAck = true, p.ack
	var last *pendingSeg
	for other.n > 0 {
		e := &other.pending[other.head]
		if !seqLE(e.end, p.ack) {
			break
		}
		last = e
		other.head = (other.head + 1) % tcpPendingMax
		other.n--
	}
	if last != nil && last.valid {
		s.rtt.add(a, p.ts-last.ts)
	}
}
