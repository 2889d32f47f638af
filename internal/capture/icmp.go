package capture

// ICMP echo (RFC 792, RFC 4443 §4): requests and replies are matched on the
// sequence number within one identifier (one flow); loss is requests
// without a reply.

const icmpRing = 1024 // outstanding requests remembered per identifier

type echoReq struct {
	seq     uint16
	ts      int64
	valid   bool
	matched bool
}

type icmpState struct {
	requests   int64
	replies    int64 // replies matched to a request
	unmatched  int64 // replies without a request in the capture
	duplicates int64
	other      int64 // errors and other ICMP types
	rtt        latency
	ring       *[icmpRing]echoReq
}

func isEchoRequest(p *packet) bool {
	return (p.proto == protoICMP && p.icmpType == 8) || (p.proto == protoICMPv6 && p.icmpType == 128)
}

func isEchoReply(p *packet) bool {
	return (p.proto == protoICMP && p.icmpType == 0) || (p.proto == protoICMPv6 && p.icmpType == 129)
}

func (a *Analyzer) icmpPacket(f *flow, p *packet) {
	s := f.icmp
	if s == nil {
		s = &icmpState{}
		f.icmp = s
	}
	switch {
	case isEchoRequest(p):
		if s.ring == nil {
			s.ring = new([icmpRing]echoReq)
		}
		s.requests++
		s.ring[p.echoSeq%icmpRing] = echoReq{seq: p.echoSeq, ts: p.ts, valid: true}
	case isEchoReply(p):
		if s.ring == nil {
			s.unmatched++
			return
		}
		e := &s.ring[p.echoSeq%icmpRing]
		switch {
		case !e.valid || e.seq != p.echoSeq:
			s.unmatched++
		case e.matched:
			s.duplicates++
		default:
			e.matched = true
			s.replies++
			s.rtt.add(a, p.ts-e.ts)
		}
	default:
		s.other++
	}
}
