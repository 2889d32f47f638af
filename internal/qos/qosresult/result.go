// Package qosresult holds what a QoS run measured, as plain values: the
// engine (internal/qos) fills them, the renderers (internal/report) read
// them. It opens no socket, so the presentation layer can import it
// without importing the engine.
package qosresult

import (
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// Result is what a run measured: one StreamResult per stream and their
// aggregate in Total. Durations are time.Duration; rates are bit/s.
type Result struct {
	Target   string
	Protocol string // "udp" or "tcp"
	Start    time.Time
	// SendDuration is from the first send to the end of the send phase;
	// rates are computed over it. Elapsed includes the straggler wait.
	SendDuration time.Duration
	Elapsed      time.Duration
	Wait         time.Duration // straggler wait actually used
	Interrupted  bool          // the context was cancelled before the schedule ended

	Size     int           // probe payload bytes
	Interval time.Duration // 0 for a burst
	Rate     float64       // requested bit/s per stream, 0 if paced by interval
	// OneWay: the reflector counted the probes without answering; loss,
	// jitter and throughput are one way (from its report), RTT is absent.
	OneWay  bool
	Streams []StreamResult
	Total   StreamResult
	// RTT is the aggregate RTT histogram (ns), for latency charts.
	RTT *stats.Histogram
	// Series is the downsampled RTT-over-time record, oldest first.
	Series []Point

	// TCP holds the TCP mode's figures (Protocol "tcp"); nil otherwise.
	TCP *TCPResult

	// Planned is how many probes the schedule meant to send over all
	// streams; 0 when unbounded (a burst bounded only by time).
	Planned int64
	// Warnings are the self-limits that touched the run (sender behind
	// schedule, the reflector's rate cap, socket drops), empty when none.
	Warnings []Warning
}

// StreamResult holds one stream's figures (or all streams', in Result.Total).
type StreamResult struct {
	Stream  int    // 1-based; 0 in Total
	Session uint64 // qoswire session id; 0 in Total

	Sent     int64 // probes sent
	Received int64 // unique replies in time
	Lost     int64 // Sent − Received (late replies are lost)
	LossPct  float64
	// LostUp and LostDown split Lost using the reflector's receive count:
	// probes that never reached the reflector and replies that never came
	// back (or came back late).
	LostUp, LostDown       int64
	LossUpPct, LossDownPct float64
	Duplicates             int64 // extra copies of a reply already received
	Reordered              int64 // RFC 4737: arrived after a higher sequence number
	Late                   int64 // replies after the wait: counted here, not as received
	// ReflectorDropped is what the reflector's rate cap dropped of this
	// session's probes, from its end-of-run report: the instrument's limit,
	// not counted in Lost. ReflectorKnown is false when the reflector sent
	// no report (an older one, or none answered at all).
	ReflectorDropped int64
	ReflectorKnown   bool
	// ReflectorSocketDrops is what the reflector's socket dropped (its
	// receive queue full, any sender's datagrams) while the session ran:
	// some of the upstream loss may be the reflector's, not the path's.
	// The total is the largest of the streams' (they share the socket).
	ReflectorSocketDrops int64

	RTT Latency // reflector dwell time subtracted
	// Jitter is RFC 3550 §6.4.1 interarrival jitter per direction (the
	// figure iperf3 reports), from transit-time differences, so clocks need
	// not be synchronised. Aggregates are means weighted by replies.
	JitterUp, JitterDown time.Duration
	// IPDV per direction (RFC 3393, consecutive pairs as RFC 5481 §4.1).
	IPDVUp, IPDVDown IPDV
	// OWDUp and OWDDown are absolute one-way delays: only with Config.OWD,
	// and only meaningful with synchronised clocks.
	OWDUp, OWDDown *Latency

	Throughput Throughput
	Diag       Diagnostics
}

// HasJitter reports whether the jitter figures were measured: RFC 3550
// jitter needs two transit times to compare, so with fewer than two replies
// there is none (reports print it as missing, not 0).
func (s StreamResult) HasJitter() bool { return s.Received >= 2 }

// Latency summarises a delay distribution.
type Latency struct {
	N                                 int64
	Min, Avg, P50, P90, P95, P99, Max time.Duration
	Stddev                            time.Duration
}

// IPDV summarises inter-packet delay variation: the mean of the signed
// samples, and the 95th percentile and maximum of their absolute values.
type IPDV struct {
	N        int64
	Mean     time.Duration
	P95, Max time.Duration
}

// Throughput is in bit/s (payload unless named Wire) and packets/s, over
// the send phase.
type Throughput struct {
	OfferedBps      float64 // payload the sender sent
	OfferedWireBps  float64 // the same with IP+UDP headers (28 B IPv4, 48 B IPv6)
	ReflectorBps    float64 // payload arriving at the reflector, from its count and clock
	ReceivedBps     float64 // every reply datagram, duplicates and late ones included
	ReceivedWireBps float64
	GoodputBps      float64 // unique replies in time: the figure in the CSV's throughput_bps
	SentPPS         float64
	ReceivedPPS     float64 // unique replies in time per second
}

// Diagnostics are the tester's own health figures: when they are bad, the
// measurement is suspect, not the network.
type Diagnostics struct {
	TimerMisses    int64         // schedule slots skipped because the sender was later than Config.CatchUp
	LateSends      int64         // probes sent an interval or more after their slot (catching up)
	SchedErrMean   time.Duration // how late sends were against their slot, mean
	SchedErrMax    time.Duration
	SendErrors     int64 // failed writes (ICMP refused, buffer full)
	RecvDrops      int64 // datagrams the kernel dropped on our socket (SO_RXQ_OVFL), where reported
	RecvDropsKnown bool  // the platform reports RecvDrops
	Foreign        int64 // datagrams that were not replies to this session (ignored)
	KernelRxTime   bool  // receive times came from kernel timestamps
	// GSOSends counts the sends that carried a run of probes for the
	// kernel to cut into datagrams (UDP_SEGMENT); GSORefused is the error
	// with which the kernel declined it, after which the probes went one
	// datagram each ("" when it never did).
	GSOSends   int64
	GSORefused string
}

// Point is one bucket of the RTT-over-time series: replies to probes sent
// in [T, T+Width) (T from the start of the run).
type Point struct {
	T, Width time.Duration
	Sent     int64 // probes sent in the bucket
	Received int64 // of those, answered in time
	RTTMin   time.Duration
	RTTAvg   time.Duration
	RTTMax   time.Duration
	Jitter   time.Duration // largest upstream RFC 3550 jitter seen in the bucket
}

// Lost is the bucket's unanswered probes (loss markers on charts).
func (p Point) Lost() int64 { return max(p.Sent-p.Received, 0) }

// TCPResult is the TCP mode's outcome.
type TCPResult struct {
	URL   string
	Bytes int64
	// Requests is how many bodies the run read: when one ends before the
	// duration, the next is requested, so the run lasts its duration.
	Requests   int
	GoodputBps float64
	Intervals  []TCPInterval
	// From TCP_INFO at the end, where the platform provides it.
	InfoKnown   bool
	RTT         time.Duration
	RTTVar      time.Duration
	Retransmits int64 // segments this side retransmitted
	OutOfOrder  int64 // segments that arrived out of order: the sender's losses and retransmissions as the receiver sees them
	MSS         int
	Cwnd        int // congestion window, segments
}

// TCPInterval is one report interval of a TCP run.
type TCPInterval struct {
	Start, End  time.Duration
	Bytes       int64
	GoodputBps  float64
	RTT         time.Duration // TCP_INFO smoothed RTT at the interval's end
	Retransmits int64         // segments this side retransmitted in the interval (TCP_INFO)
	OutOfOrder  int64         // segments that arrived out of order in the interval
}

// Warning kinds: the run's own limits, which touched the figures.
const (
	WarnSenderBehind  = "sender_behind_schedule"
	WarnReflectorCap  = "reflector_rate_cap"
	WarnSocketDrops   = "socket_receive_drops"
	WarnSendErrors    = "send_errors"
	WarnReflectorDrop = "reflector_socket_drops"
)

// Warning is one self-limit that touched a run: the figures are then
// partly the instrument's, not the network's.
type Warning struct {
	Kind    string
	Message string
}

// BehindShare is the share of the planned probes a sender may miss before
// the run counts as behind its schedule: a slot or two lost to a late
// wake-up at the very end is not a different rate.
const BehindShare = 0.01

// Behind reports whether the sender sent noticeably fewer probes than
// planned, or (a --count run, which sends them all however late) skipped
// noticeably many of its schedule's slots; a cancelled run ended early on
// purpose. The achieved pacing, not the planned one, is then the run's.
func (res *Result) Behind() bool {
	if res.Planned <= 0 || res.Interrupted {
		return false
	}
	t := res.Total
	return float64(res.Planned-t.Sent) > BehindShare*float64(res.Planned) ||
		float64(t.Diag.TimerMisses) > BehindShare*float64(t.Sent+t.Diag.TimerMisses)
}

// IntervalStats covers one stream (or all, Stream 0) over [Start, End).
type IntervalStats struct {
	Stream     int
	Start, End time.Duration
	Sent       int64 // probes sent in the interval
	Received   int64 // unique replies that arrived in the interval
	Lost       int64 // new gaps below the highest answered sequence number (as iperf3 counts)
	Duplicates int64
	Late       int64
	RTTMin     time.Duration // of replies that arrived in the interval
	RTTAvg     time.Duration
	RTTMax     time.Duration
	JitterUp   time.Duration // RFC 3550 estimate at the end of the interval
	JitterDown time.Duration
	// JitterKnown: the stream has had two replies, so the jitter estimate
	// rests on at least one transit-time difference.
	JitterKnown bool
	GoodputBps  float64 // payload bit/s of the interval's unique replies
	// TCP mode only:
	Bytes          int64 // received in the interval
	TCPRTT         time.Duration
	TCPRetransmits int64 // TCP_INFO retransmitted segments
	TCPOutOfOrder  int64 // TCP_INFO segments received out of order
}
