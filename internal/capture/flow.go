package capture

import (
	"net/netip"
	"slices"

	"github.com/socklab/socklab/internal/stats"
)

// flowKey identifies a conversation in both directions: the two endpoints are
// stored in a canonical order so A→B and B→A find the same flow. ICMP echo
// flows use the echo identifier as both ports.
type flowKey struct {
	lo, hi         netip.Addr
	loPort, hiPort uint16
	proto          uint8
}

func keyOf(p *packet) flowKey {
	k := flowKey{lo: p.src, hi: p.dst, loPort: p.sport, hiPort: p.dport, proto: p.proto}
	if c := p.src.Compare(p.dst); c > 0 || (c == 0 && p.sport > p.dport) {
		k.lo, k.hi, k.loPort, k.hiPort = p.dst, p.src, p.dport, p.sport
	}
	return k
}

// flow is the running state of one conversation. A is the endpoint that
// sent the first packet seen (the client, when the capture saw the start).
// Everything in it is of fixed size or capped, so memory per flow is bounded.
type flow struct {
	key      flowKey
	a        netip.AddrPort
	b        netip.AddrPort
	first    int64
	last     int64
	packets  [2]int64 // [0] A→B, [1] B→A
	bytes    [2]int64
	size     stats.Summary
	interval intervalRate
	series   rateSeries

	udp  *udpState
	tcp  *tcpState
	icmp *icmpState
}

// dir is 0 when p goes from A to B, 1 otherwise.
func (f *flow) dir(p *packet) int {
	if p.src == f.a.Addr() && p.sport == f.a.Port() {
		return 0
	}
	return 1
}

func (f *flow) totalBytes() int64   { return f.bytes[0] + f.bytes[1] }
func (f *flow) totalPackets() int64 { return f.packets[0] + f.packets[1] }

// intervalRate finds the busiest interval of a flow: bytes are summed per
// fixed interval of capture time from the capture's first packet.
type intervalRate struct {
	index   int64 // current interval number
	current int64 // bytes in it
	peak    int64 // bytes in the busiest one
}

func (r *intervalRate) add(elapsed, interval int64, n int) {
	i := elapsed / interval
	if i > r.index {
		r.index, r.current = i, 0
	}
	// A timestamp that goes backwards is counted in the current interval.
	r.current += int64(n)
	r.peak = max(r.peak, r.current)
}

// flowTable holds at most max flows. When it is full, the quarter with the
// fewest bytes is evicted (their totals are kept in evicted), so the flows
// that matter for a top-N report survive a capture of any size.
type flowTable struct {
	m       map[flowKey]*flow
	max     int
	lastKey flowKey
	lastF   *flow
	total   int64 // flows ever created
	evicted EvictedFlows
}

func newFlowTable(max int) *flowTable {
	return &flowTable{m: make(map[flowKey]*flow, min(max, 1024)), max: max}
}

func (t *flowTable) get(p *packet) (*flow, bool) {
	k := keyOf(p)
	if t.lastF != nil && k == t.lastKey {
		return t.lastF, false
	}
	f, ok := t.m[k]
	created := false
	if !ok {
		if len(t.m) >= t.max {
			t.evict()
		}
		f = &flow{
			key:   k,
			a:     netip.AddrPortFrom(p.src, p.sport),
			b:     netip.AddrPortFrom(p.dst, p.dport),
			first: p.ts,
			last:  p.ts,
		}
		t.m[k] = f
		t.total++
		created = true
	}
	t.lastKey, t.lastF = k, f
	return f, created
}

func (t *flowTable) evict() {
	all := make([]*flow, 0, len(t.m))
	for _, f := range t.m {
		all = append(all, f)
	}
	slices.SortFunc(all, func(x, y *flow) int {
		if c := cmpInt(x.totalBytes(), y.totalBytes()); c != 0 {
			return c
		}
		return cmpInt(x.last, y.last)
	})
	n := max(len(all)/4, 1)
	for _, f := range all[:n] {
		t.evicted.Flows++
		t.evicted.Packets += f.totalPackets()
		t.evicted.Bytes += f.totalBytes()
		delete(t.m, f.key)
	}
	t.lastF = nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// latency is a Summary for every flow, plus a histogram for quantiles while
// the analyzer's histogram budget lasts (a histogram is ~58 KiB).
type latency struct {
	sum  stats.Summary
	hist *stats.Histogram
}

func (l *latency) add(a *Analyzer, ns int64) {
	if ns < 0 {
		return // capture timestamps that go backwards
	}
	l.sum.Add(float64(ns))
	if l.hist == nil && l.sum.N() == 1 {
		l.hist = a.newHistogram()
	}
	if l.hist != nil {
		l.hist.Record(ns)
	}
}
