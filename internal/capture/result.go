package capture

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Result is the analysis of a capture, ready for JSON (snake_case, times in
// milliseconds, rates in bits per second).
type Result struct {
	File       string       `json:"file"` // set by the caller
	Format     string       `json:"format"`
	Gzip       bool         `json:"gzip"`
	LinkTypes  []string     `json:"link_types"`
	Packets    int64        `json:"packets"`
	Bytes      int64        `json:"bytes"`
	Start      time.Time    `json:"start"`
	DurationS  float64      `json:"-"` // for text; JSON has milliseconds, as every socklab document
	DurationMs float64      `json:"duration_ms"`
	NonIP      int64        `json:"non_ip_packets"`
	OtherIP    int64        `json:"other_ip_packets"`
	Malformed  int64        `json:"malformed_packets"`
	Filtered   int64        `json:"filtered_packets"`
	FlowsTotal int64        `json:"flows_total"`
	Evicted    EvictedFlows `json:"evicted"`
	Flows      []FlowReport `json:"flows"`
	Stopped    *Stop        `json:"stopped,omitempty"`
	// Interrupted is set when the analysis was cancelled before the end.
	Interrupted bool `json:"interrupted,omitempty"`
	// ResolutionNs is the capture's timestamp resolution (1000 for a
	// microsecond pcap): histogram bins and intervals are never finer.
	ResolutionNs int64 `json:"timestamp_resolution_ns"`
	// Notes say where the analysis changed what was asked (an interval
	// finer than the timestamps, widened to them).
	Notes []string `json:"notes"`

	// Series is the capture's throughput over time, for charts.
	Series []RatePoint `json:"-"`
}

// EvictedFlows totals the flows dropped from a full flow table.
type EvictedFlows struct {
	Flows   int64 `json:"flows"`
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
}

// Stop says where a damaged capture stopped being readable.
type Stop struct {
	Packet int64  `json:"packet"` // 1-based number of the record that could not be read
	Offset int64  `json:"offset"` // byte offset of that record (decompressed stream for gzip)
	Reason string `json:"reason"`
}

// FlowReport is one conversation, both directions. Client is the endpoint
// that sent the first packet the capture saw; "fwd" is client → server.
type FlowReport struct {
	Protocol      string      `json:"protocol"`
	Client        string      `json:"client"`
	Server        string      `json:"server"`
	Start         time.Time   `json:"start"`
	DurationS     float64     `json:"-"`
	DurationMs    float64     `json:"duration_ms"`
	Packets       int64       `json:"packets"`
	Bytes         int64       `json:"bytes"`
	PacketsFwd    int64       `json:"packets_fwd"`
	PacketsRev    int64       `json:"packets_rev"`
	BytesFwd      int64       `json:"bytes_fwd"`
	BytesRev      int64       `json:"bytes_rev"`
	ThroughputBps float64     `json:"throughput_bps"`
	PeakBps       float64     `json:"peak_bps"`
	PacketSize    SizeStats   `json:"packet_size"`
	QoS           []QoSReport `json:"qos,omitempty"`
	UDP           *UDPReport  `json:"udp,omitempty"`
	TCP           *TCPReport  `json:"tcp,omitempty"`
	HTTP          *HTTPReport `json:"http,omitempty"`
	ICMP          *ICMPReport `json:"icmp,omitempty"`

	// Series is the flow's throughput over time (seconds since the
	// capture start), for charts.
	Series []RatePoint `json:"-"`
}

// SizeStats describes frame sizes in bytes.
type SizeStats struct {
	Min float64 `json:"min"`
	Avg float64 `json:"avg"`
	Max float64 `json:"max"`
}

// Latency summarises RTT samples in milliseconds, in the one latency shape
// every socklab JSON document uses (n, min, avg, p50, p90, p95, p99, max,
// stddev). Quantiles are null when the analyzer's histogram budget allowed
// none for this flow. Stddev is the population standard deviation (ping's
// mdev).
type Latency struct {
	Samples int64    `json:"n"`
	MinMs   float64  `json:"min_ms"`
	AvgMs   float64  `json:"avg_ms"`
	P50Ms   *float64 `json:"p50_ms"`
	P90Ms   *float64 `json:"p90_ms"`
	P95Ms   *float64 `json:"p95_ms"`
	P99Ms   *float64 `json:"p99_ms"`
	MaxMs   float64  `json:"max_ms"`
	MdevMs  float64  `json:"stddev_ms"`
}

// IPDVReport is RFC 5481 inter-packet delay variation in milliseconds.
type IPDVReport struct {
	Samples int64   `json:"samples"`
	MeanMs  float64 `json:"mean_ms"`
	AbsP95  float64 `json:"abs_p95_ms"`
	AbsMax  float64 `json:"abs_max_ms"`
}

// QoSReport is one qoswire session. With replies in the capture, sent is
// the highest request sequence + 1 and received counts distinct replies;
// with requests only (a capture at a one-way receiver), received counts
// distinct requests. Duplicates and reordered refer to the same packets as
// received. jitter_ms is the RFC 3550 jitter of the packets counted as
// received (the replies, when there are any). The RTT is reply capture time
// minus request capture time, less the reflector's dwell time (as socklab
// qos reports it).
type QoSReport struct {
	Session           string      `json:"session"`
	Sent              int64       `json:"sent"`
	Received          int64       `json:"received"`
	Lost              int64       `json:"lost"`
	LossPct           float64     `json:"loss_pct"`
	Duplicates        int64       `json:"duplicates"`
	Reordered         int64       `json:"reordered"`
	Requests          int64       `json:"requests"`
	Replies           int64       `json:"replies"`
	RequestsMissing   int64       `json:"requests_missing"` // gaps in request sequence numbers: lost before the capture point
	ReflectorReceived uint64      `json:"reflector_received"`
	RTT               *Latency    `json:"rtt,omitempty"`
	JitterMs          float64     `json:"jitter_ms"`
	JitterFwdMs       float64     `json:"jitter_fwd_ms"`
	JitterRevMs       float64     `json:"jitter_rev_ms"`
	IPDVFwd           *IPDVReport `json:"ipdv_fwd,omitempty"`
	IPDVRev           *IPDVReport `json:"ipdv_rev,omitempty"`
	DwellAvgMs        float64     `json:"dwell_avg_ms"`

	// Series follows the session over time by request time; RTTBins is
	// the RTT distribution (ns) when a histogram was available. For charts.
	Series  []RTTPoint  `json:"-"`
	RTTBins []stats.Bin `json:"-"`
}

// UDPReport covers the non-qoswire datagrams of a UDP flow: jitter from
// arrival times (the sender's pace is taken as constant) and the RTT of
// replies that mirror a request's payload.
type UDPReport struct {
	Datagrams   int64    `json:"datagrams"`
	Probes      int64    `json:"qos_probes"`
	JitterFwdMs float64  `json:"jitter_fwd_ms"`
	JitterRevMs float64  `json:"jitter_rev_ms"`
	EchoRTT     *Latency `json:"echo_rtt,omitempty"`
}

// TCPReport is the TCP view of a flow.
type TCPReport struct {
	HandshakeRTTMs  *float64 `json:"handshake_rtt_ms,omitempty"`
	RTT             *Latency `json:"rtt,omitempty"`
	PayloadFwd      int64    `json:"payload_bytes_fwd"`
	PayloadRev      int64    `json:"payload_bytes_rev"`
	GoodputFwdBps   float64  `json:"goodput_fwd_bps"` // payload (retransmissions included) over the flow's duration
	GoodputRevBps   float64  `json:"goodput_rev_bps"`
	Retransmissions int64    `json:"retransmissions"`
	OutOfOrder      int64    `json:"out_of_order"`
	ZeroWindows     int64    `json:"zero_windows"`
	Resets          int64    `json:"resets"`
}

// HTTPReport summarises plain HTTP/1.x on a TCP flow.
type HTTPReport struct {
	Requests  int64            `json:"requests"`
	Responses int64            `json:"responses"`
	Methods   map[string]int64 `json:"methods"`
	Statuses  map[string]int64 `json:"statuses"`
	Samples   []string         `json:"samples,omitempty"`
}

// ICMPReport is echo request/reply for one identifier.
type ICMPReport struct {
	Identifier int      `json:"identifier"`
	Requests   int64    `json:"requests"`
	Replies    int64    `json:"replies"`
	Lost       int64    `json:"lost"`
	LossPct    float64  `json:"loss_pct"`
	Unmatched  int64    `json:"unmatched_replies"`
	Duplicates int64    `json:"duplicate_replies"`
	Other      int64    `json:"other_messages"`
	RTT        *Latency `json:"rtt,omitempty"`
}

// Result returns the analysis so far, flows sorted by bytes, largest first.
func (a *Analyzer) Result() *Result {
	t := &a.tot
	r := &Result{
		Packets:    t.packets,
		Bytes:      t.bytes,
		NonIP:      t.notIP,
		OtherIP:    t.otherIP,
		Malformed:  t.malformed,
		Filtered:   t.skipped,
		FlowsTotal: a.flows.total,
		Evicted:    a.flows.evicted,
		Flows:      []FlowReport{},
		LinkTypes:  []string{},

		ResolutionNs: int64(a.cfg.Resolution),
		Notes:        append([]string{}, a.notes...),
	}
	if t.packets > 0 {
		r.Start = time.Unix(0, t.first).UTC()
		r.DurationS = float64(t.last-t.first) / 1e9
		r.DurationMs = float64(t.last-t.first) / 1e6
		r.Series = t.series.points(t.first)
	}
	for _, lc := range t.links {
		r.LinkTypes = append(r.LinkTypes, linkName(lc.link))
	}
	slices.Sort(r.LinkTypes)
	r.LinkTypes = slices.Compact(r.LinkTypes) // 12, 14 and 101 are all "raw"
	flows := make([]*flow, 0, len(a.flows.m))
	for _, f := range a.flows.m {
		flows = append(flows, f)
	}
	slices.SortFunc(flows, func(x, y *flow) int {
		if c := cmp.Compare(y.totalBytes(), x.totalBytes()); c != 0 {
			return c
		}
		return cmp.Compare(x.first, y.first)
	})
	for _, f := range flows {
		r.Flows = append(r.Flows, a.flowReport(f))
	}
	return r
}

func (a *Analyzer) flowReport(f *flow) FlowReport {
	dur := f.last - f.first
	fr := FlowReport{
		Protocol:   protoName(f.key.proto),
		Client:     endpoint(f, f.a.Addr().String(), f.a.Port()),
		Server:     endpoint(f, f.b.Addr().String(), f.b.Port()),
		Start:      time.Unix(0, f.first).UTC(),
		DurationS:  float64(dur) / 1e9,
		DurationMs: float64(dur) / 1e6,
		Packets:    f.totalPackets(),
		Bytes:      f.totalBytes(),
		PacketsFwd: f.packets[0],
		PacketsRev: f.packets[1],
		BytesFwd:   f.bytes[0],
		BytesRev:   f.bytes[1],
		PacketSize: SizeStats{Min: f.size.Min(), Avg: f.size.Mean(), Max: f.size.Max()},
	}
	f.series.widenTo(a.tot.series.width)
	fr.Series = f.series.points(a.tot.first)
	interval := int64(a.cfg.Interval)
	if dur > 0 {
		fr.ThroughputBps = float64(fr.Bytes) * 8 / (float64(dur) / 1e9)
	}
	// The busiest --interval bucket: a flow of a dozen packets in a
	// millisecond peaks at its bytes per interval, not at bytes per
	// millisecond, so the figure matches the chart's largest bucket.
	fr.PeakBps = float64(f.interval.peak) * 8 / (float64(interval) / 1e9)
	if s := f.udp; s != nil {
		fr.QoS, fr.UDP = udpReports(s, a.tot.first, int64(a.cfg.Resolution))
	}
	if s := f.tcp; s != nil {
		fr.TCP, fr.HTTP = tcpReports(s, dur)
	}
	if s := f.icmp; s != nil {
		fr.ICMP = icmpReport(s, f.key.loPort)
	}
	return fr
}

// udpReports is a UDP flow's QoS sessions and, when it carried datagrams
// that were not probes, its plain-UDP figures.
func udpReports(s *udpState, base, res int64) ([]QoSReport, *UDPReport) {
	var qs []QoSReport
	for _, q := range s.sessions {
		qs = append(qs, qosReport(q, base, res))
	}
	if s.plain[0]+s.plain[1] == 0 {
		return qs, nil
	}
	return qs, &UDPReport{
		Datagrams:   s.plain[0] + s.plain[1],
		Probes:      s.probes,
		JitterFwdMs: ms(s.jitter[0].j.Value()),
		JitterRevMs: ms(s.jitter[1].j.Value()),
		EchoRTT:     s.rtt.report(),
	}
}

// tcpReports is a TCP flow's figures over dur nanoseconds and, when it
// carried HTTP/1.x, the HTTP exchange's.
func tcpReports(s *tcpState, dur int64) (*TCPReport, *HTTPReport) {
	tr := &TCPReport{
		RTT:             s.rtt.report(),
		PayloadFwd:      s.dir[0].payload,
		PayloadRev:      s.dir[1].payload,
		Retransmissions: s.retrans,
		OutOfOrder:      s.outOfOrder,
		ZeroWindows:     s.zeroWindows,
		Resets:          s.resets,
	}
	if dur > 0 {
		tr.GoodputFwdBps = float64(tr.PayloadFwd) * 8 / (float64(dur) / 1e9)
		tr.GoodputRevBps = float64(tr.PayloadRev) * 8 / (float64(dur) / 1e9)
	}
	if s.handshakeRTT > 0 {
		v := ms(float64(s.handshakeRTT))
		tr.HandshakeRTTMs = &v
	}
	h := s.http
	if h == nil {
		return tr, nil
	}
	hr := &HTTPReport{Requests: h.requests, Responses: h.responses, Methods: h.methods,
		Statuses: map[string]int64{}, Samples: h.samples}
	for code, n := range h.statuses {
		hr.Statuses[fmt.Sprint(code)] = n
	}
	return tr, hr
}

// icmpReport is an ICMP echo flow's figures; id is its echo identifier.
func icmpReport(s *icmpState, id uint16) *ICMPReport {
	return &ICMPReport{
		Identifier: int(id),
		Requests:   s.requests,
		Replies:    s.replies,
		Lost:       max(s.requests-s.replies, 0),
		LossPct:    stats.LossPct(s.requests, s.replies),
		Unmatched:  s.unmatched,
		Duplicates: s.duplicates,
		Other:      s.other,
		RTT:        s.rtt.report(),
	}
}

// qosReport is a session's figures; its RTT histogram's bins are no finer
// than res, the capture's timestamp resolution (an RTT is a difference of
// two capture timestamps).
func qosReport(q *qosSession, base, res int64) QoSReport {
	r := QoSReport{
		Session:           fmt.Sprintf("%016x", q.id),
		Requests:          q.reqCount,
		Replies:           q.repCount,
		ReflectorReceived: q.reflMax,
		RTT:               q.rtt.report(),
		JitterFwdMs:       ms(q.jitFwd.Value()),
		JitterRevMs:       ms(q.jitRev.Value()),
		IPDVFwd:           ipdvReport(q.ipdvFwd),
		IPDVRev:           ipdvReport(q.ipdvRev),
		DwellAvgMs:        ms(q.dwell.Mean()),
		Series:            q.series.points(base),
	}
	if q.rtt.hist != nil {
		r.RTTBins = q.rtt.hist.BinsAt(40, max(res, 1))
	}
	reqMax, haveReq := q.req.MaxSeq()
	repMax, haveRep := q.rep.MaxSeq()
	if haveReq {
		r.RequestsMissing = max(int64(reqMax)+1-q.req.Unique(), 0)
	}
	if haveRep {
		sent := max(q.req.Unique(), int64(repMax)+1)
		if haveReq {
			sent = max(sent, int64(reqMax)+1)
		}
		r.Sent, r.Received = sent, q.rep.Unique()
		r.Duplicates, r.Reordered = q.rep.Duplicates(), q.rep.Reordered()
		r.JitterMs = r.JitterRevMs
	} else if haveReq {
		r.Sent, r.Received = int64(reqMax)+1, q.req.Unique()
		r.Duplicates, r.Reordered = q.req.Duplicates(), q.req.Reordered()
		r.JitterMs = r.JitterFwdMs
	}
	r.Lost = max(r.Sent-r.Received, 0)
	r.LossPct = stats.LossPct(r.Sent, r.Received)
	return r
}

func ipdvReport(d *stats.IPDV) *IPDVReport {
	if d == nil || d.Summary().N() == 0 {
		return nil
	}
	return &IPDVReport{
		Samples: d.Summary().N(),
		MeanMs:  ms(d.Summary().Mean()),
		AbsP95:  ms(float64(d.Abs().Quantile(0.95))),
		AbsMax:  ms(float64(d.Abs().Max())),
	}
}

func (l *latency) report() *Latency {
	if l.sum.N() == 0 {
		return nil
	}
	r := &Latency{
		Samples: l.sum.N(),
		MinMs:   ms(l.sum.Min()),
		AvgMs:   ms(l.sum.Mean()),
		MaxMs:   ms(l.sum.Max()),
		MdevMs:  ms(l.sum.Stddev()),
	}
	if l.hist != nil {
		q := func(x float64) *float64 { v := ms(float64(l.hist.Quantile(x))); return &v }
		r.P50Ms, r.P90Ms, r.P95Ms, r.P99Ms = q(0.50), q(0.90), q(0.95), q(0.99)
	}
	return r
}

func ms(ns float64) float64 { return ns / 1e6 }

func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	case protoICMPv6:
		return "icmpv6"
	}
	return fmt.Sprint(p)
}

// endpoint formats an address with its port; ICMP endpoints have no port.
func endpoint(f *flow, addr string, port uint16) string {
	if f.key.proto == protoICMP || f.key.proto == protoICMPv6 {
		return addr
	}
	if strings.Contains(addr, ":") {
		return "[" + addr + "]:" + fmt.Sprint(port)
	}
	return addr + ":" + fmt.Sprint(port)
}
