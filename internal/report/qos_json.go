package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/socklab/socklab/internal/qos/qosresult"
)

// optMs is ms(d) when the figure was measured (ok) and nil otherwise, so a
// run without samples writes null, never a 0 that reads as a measurement.
func optMs(d time.Duration, ok bool) *float64 {
	if !ok {
		return nil
	}
	v := ms(d)
	return &v
}

// QoSDoc is the --json document of a QoS run. Its leading fields repeat
// the CSV columns (for all streams together); the nested objects hold the
// detail. Times are milliseconds, rates bit/s.
type QoSDoc struct {
	Time          string   `json:"time"`
	Target        string   `json:"target"`
	Protocol      string   `json:"protocol"`
	Sent          int64    `json:"sent"`
	Received      int64    `json:"received"`
	Lost          int64    `json:"lost"`
	LossPct       float64  `json:"loss_pct"`
	Duplicates    int64    `json:"duplicates"`
	Reordered     int64    `json:"reordered"`
	DurationS     float64  `json:"duration_s"`
	ThroughputBps float64  `json:"throughput_bps"`
	RTTMinMs      *float64 `json:"rtt_min_ms"`
	RTTAvgMs      *float64 `json:"rtt_avg_ms"`
	RTTP50Ms      *float64 `json:"rtt_p50_ms"`
	RTTP95Ms      *float64 `json:"rtt_p95_ms"`
	RTTP99Ms      *float64 `json:"rtt_p99_ms"`
	RTTMaxMs      *float64 `json:"rtt_max_ms"`
	JitterMs      *float64 `json:"jitter_ms"` // RFC 3550, upstream (as iperf3 reports it)

	DurationMs  float64 `json:"duration_ms"`
	ElapsedMs   float64 `json:"elapsed_ms"`
	WaitMs      float64 `json:"wait_ms"`
	Interrupted bool    `json:"interrupted"`
	Size        int     `json:"size"`
	IntervalMs  float64 `json:"interval_ms"`
	RateBps     float64 `json:"rate_bps,omitempty"`
	OneWay      bool    `json:"one_way"`

	// PlannedProbes is what the schedule meant to send (all streams); null
	// when unbounded. ReflDropped is what the reflector's rate cap dropped
	// (not in lost); null when the reflector sent no report.
	PlannedProbes *int64 `json:"planned"`
	ReflDropped   *int64 `json:"refl_dropped"`
	// Warnings are the run's own limits that touched it; empty when none.
	Warnings []WarningDoc `json:"warnings"`

	Total   StreamDoc   `json:"total"`
	Streams []StreamDoc `json:"streams,omitempty"`
	TCP     *TCPDoc     `json:"tcp,omitempty"`
}

// StreamDoc is one stream's figures (or all streams', as "total").
type StreamDoc struct {
	Stream      int           `json:"stream"`
	Session     string        `json:"session,omitempty"`
	Sent        int64         `json:"sent"`
	Received    int64         `json:"received"`
	Lost        int64         `json:"lost"`
	LossPct     float64       `json:"loss_pct"`
	LostUp      int64         `json:"lost_up"`
	LostDown    int64         `json:"lost_down"`
	LossUpPct   float64       `json:"loss_up_pct"`
	LossDownPct float64       `json:"loss_down_pct"`
	Duplicates  int64         `json:"duplicates"`
	Reordered   int64         `json:"reordered"`
	Late        int64         `json:"late"`
	ReflDropped *int64        `json:"refl_dropped"`      // null: no report from the reflector
	ReflSockDrp *int64        `json:"refl_socket_drops"` // what the reflector's socket dropped meanwhile; null: no report
	RTT         *LatencyDoc   `json:"rtt"`               // null without replies
	JitterUpMs  *float64      `json:"jitter_up_ms"`      // null with fewer than two replies
	JitterDnMs  *float64      `json:"jitter_down_ms"`    // null with fewer than two replies
	IPDVUp      *IPDVDoc      `json:"ipdv_up"`           // null without a pair of consecutive replies
	IPDVDown    *IPDVDoc      `json:"ipdv_down"`
	OWDUp       *LatencyDoc   `json:"owd_up,omitempty"`
	OWDDown     *LatencyDoc   `json:"owd_down,omitempty"`
	Throughput  ThroughputDoc `json:"throughput"`
	Diag        DiagDoc       `json:"diagnostics"`
}

// WarningDoc is one self-limit that touched a run.
type WarningDoc struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// warningDocs is the warnings array: never null.
func warningDocs(ws []qosresult.Warning) []WarningDoc {
	out := make([]WarningDoc, 0, len(ws))
	for _, w := range ws {
		out = append(out, WarningDoc(w))
	}
	return out
}

// IPDVDoc is RFC 3393 delay variation in milliseconds.
type IPDVDoc struct {
	N      int64   `json:"n"`
	MeanMs float64 `json:"mean_ms"`
	P95Ms  float64 `json:"p95_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// ThroughputDoc is in bit/s and packets/s.
type ThroughputDoc struct {
	OfferedBps      float64 `json:"offered_bps"`
	OfferedWireBps  float64 `json:"offered_wire_bps"`
	ReflectorBps    float64 `json:"reflector_bps"`
	ReceivedBps     float64 `json:"received_bps"`
	ReceivedWireBps float64 `json:"received_wire_bps"`
	GoodputBps      float64 `json:"goodput_bps"`
	SentPPS         float64 `json:"sent_pps"`
	ReceivedPPS     float64 `json:"received_pps"`
}

// DiagDoc is the tester's self-diagnostics; recv_drops is null where the
// platform does not report socket drops.
type DiagDoc struct {
	TimerMisses    int64   `json:"timer_misses"`
	LateSends      int64   `json:"late_sends"`
	SchedErrMeanMs float64 `json:"sched_err_mean_ms"`
	SchedErrMaxMs  float64 `json:"sched_err_max_ms"`
	SendErrors     int64   `json:"send_errors"`
	RecvDrops      *int64  `json:"recv_drops"`
	Foreign        int64   `json:"foreign"`
	KernelRxTime   bool    `json:"kernel_rx_timestamps"`
	GSOSends       int64   `json:"gso_sends"`   // sends the kernel segmented (UDP_SEGMENT)
	GSORefused     string  `json:"gso_refused"` // why segmentation went off mid-run, "" if it did not
}

// TCPDoc is the TCP mode's figures.
type TCPDoc struct {
	URL         string           `json:"url"`
	Bytes       int64            `json:"bytes"`
	Requests    int              `json:"requests"`
	GoodputBps  float64          `json:"goodput_bps"`
	InfoKnown   bool             `json:"tcp_info"`
	RTTMs       float64          `json:"rtt_ms"`
	RTTVarMs    float64          `json:"rttvar_ms"`
	Retransmits int64            `json:"retransmits"`
	OutOfOrder  int64            `json:"out_of_order"`
	MSS         int              `json:"mss"`
	Cwnd        int              `json:"cwnd"`
	Intervals   []TCPIntervalDoc `json:"intervals"`
}

// TCPIntervalDoc is one report interval of a TCP run.
type TCPIntervalDoc struct {
	StartMs     float64 `json:"start_ms"`
	EndMs       float64 `json:"end_ms"`
	Bytes       int64   `json:"bytes"`
	GoodputBps  float64 `json:"goodput_bps"`
	RTTMs       float64 `json:"rtt_ms"`
	Retransmits int64   `json:"retransmits"`
	OutOfOrder  int64   `json:"out_of_order"`
}

// QoSJSON builds the --json document of res.
func QoSJSON(res *qosresult.Result) QoSDoc {
	t := res.Total
	hasRTT := t.RTT.N > 0
	d := QoSDoc{
		Time: res.Start.UTC().Format(time.RFC3339Nano), Target: res.Target, Protocol: res.Protocol,
		Sent: t.Sent, Received: t.Received, Lost: t.Lost, LossPct: t.LossPct,
		Duplicates: t.Duplicates, Reordered: t.Reordered,
		DurationS: res.SendDuration.Seconds(), ThroughputBps: t.Throughput.GoodputBps,
		RTTMinMs: optMs(t.RTT.Min, hasRTT), RTTAvgMs: optMs(t.RTT.Avg, hasRTT), RTTP50Ms: optMs(t.RTT.P50, hasRTT),
		RTTP95Ms: optMs(t.RTT.P95, hasRTT), RTTP99Ms: optMs(t.RTT.P99, hasRTT), RTTMaxMs: optMs(t.RTT.Max, hasRTT),
		JitterMs:   optMs(t.JitterUp, t.HasJitter()),
		DurationMs: ms(res.SendDuration), ElapsedMs: ms(res.Elapsed), WaitMs: ms(res.Wait), Interrupted: res.Interrupted,
		Size: res.Size, IntervalMs: ms(res.Interval), RateBps: res.Rate, OneWay: res.OneWay,
		Warnings: warningDocs(res.Warnings),
		Total:    streamDoc(t),
	}
	if res.Planned > 0 {
		n := res.Planned
		d.PlannedProbes = &n
	}
	d.ReflDropped = d.Total.ReflDropped
	for _, s := range res.Streams {
		d.Streams = append(d.Streams, streamDoc(s))
	}
	if res.TCP != nil {
		d.TCP = tcpDoc(res.TCP)
		d.ThroughputBps = res.TCP.GoodputBps
		d.RTTAvgMs = optMs(res.TCP.RTT, res.TCP.InfoKnown)
	}
	return d
}

func streamDoc(s qosresult.StreamResult) StreamDoc {
	d := StreamDoc{
		Stream: s.Stream, Sent: s.Sent, Received: s.Received, Lost: s.Lost, LossPct: s.LossPct,
		LostUp: s.LostUp, LostDown: s.LostDown, LossUpPct: s.LossUpPct, LossDownPct: s.LossDownPct,
		Duplicates: s.Duplicates, Reordered: s.Reordered, Late: s.Late,
		JitterUpMs: optMs(s.JitterUp, s.HasJitter()), JitterDnMs: optMs(s.JitterDown, s.HasJitter()),
		IPDVUp: ipdvDoc(s.IPDVUp), IPDVDown: ipdvDoc(s.IPDVDown),
		Throughput: ThroughputDoc(s.Throughput),
		Diag: DiagDoc{
			TimerMisses: s.Diag.TimerMisses, LateSends: s.Diag.LateSends, SchedErrMeanMs: ms(s.Diag.SchedErrMean), SchedErrMaxMs: ms(s.Diag.SchedErrMax),
			SendErrors: s.Diag.SendErrors, Foreign: s.Diag.Foreign, KernelRxTime: s.Diag.KernelRxTime,
			GSOSends: s.Diag.GSOSends, GSORefused: s.Diag.GSORefused,
		},
	}
	if s.RTT.N > 0 {
		l := latencyDoc(s.RTT)
		d.RTT = &l
	}
	if s.ReflectorKnown {
		n, k := s.ReflectorDropped, s.ReflectorSocketDrops
		d.ReflDropped, d.ReflSockDrp = &n, &k
	}
	if s.Session != 0 {
		d.Session = sessionHex(s.Session)
	}
	if s.Diag.RecvDropsKnown {
		n := s.Diag.RecvDrops
		d.Diag.RecvDrops = &n
	}
	if s.OWDUp != nil {
		up, down := latencyDoc(*s.OWDUp), latencyDoc(*s.OWDDown)
		d.OWDUp, d.OWDDown = &up, &down
	}
	return d
}

func sessionHex(v uint64) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = hex[v&15]
		v >>= 4
	}
	return string(b)
}

func ipdvDoc(i qosresult.IPDV) *IPDVDoc {
	if i.N == 0 {
		return nil
	}
	return &IPDVDoc{N: i.N, MeanMs: ms(i.Mean), P95Ms: ms(i.P95), MaxMs: ms(i.Max)}
}

func tcpDoc(t *qosresult.TCPResult) *TCPDoc {
	d := &TCPDoc{URL: t.URL, Bytes: t.Bytes, Requests: t.Requests, GoodputBps: t.GoodputBps, InfoKnown: t.InfoKnown,
		RTTMs: ms(t.RTT), RTTVarMs: ms(t.RTTVar), Retransmits: t.Retransmits, OutOfOrder: t.OutOfOrder, MSS: t.MSS, Cwnd: t.Cwnd,
		Intervals: []TCPIntervalDoc{}}
	for _, iv := range t.Intervals {
		d.Intervals = append(d.Intervals, TCPIntervalDoc{StartMs: ms(iv.Start), EndMs: ms(iv.End), Bytes: iv.Bytes,
			GoodputBps: iv.GoodputBps, RTTMs: ms(iv.RTT), Retransmits: iv.Retransmits, OutOfOrder: iv.OutOfOrder})
	}
	return d
}

// WriteQoSJSON writes res as one indented JSON document (the --json output).
func WriteQoSJSON(w io.Writer, res *qosresult.Result) error {
	return WriteJSON(w, QoSJSON(res))
}

// EventDoc is one NDJSON line of --json-stream.
type EventDoc struct {
	Event     string        `json:"event"`
	Time      string        `json:"time"`
	ElapsedMs float64       `json:"elapsed_ms"`
	Intervals []IntervalDoc `json:"intervals,omitempty"`
	Sent      *int64        `json:"sent,omitempty"`
	Received  *int64        `json:"received,omitempty"`
	Fraction  *float64      `json:"fraction,omitempty"`
	Target    string        `json:"target,omitempty"`
	Result    *QoSDoc       `json:"result,omitempty"`
}

// IntervalDoc is one stream's interval (stream 0: all streams).
type IntervalDoc struct {
	Stream     int      `json:"stream"`
	StartMs    float64  `json:"start_ms"`
	EndMs      float64  `json:"end_ms"`
	Sent       int64    `json:"sent"`
	Received   int64    `json:"received"`
	Lost       int64    `json:"lost"`
	Duplicates int64    `json:"duplicates"`
	Late       int64    `json:"late"`
	RTTMinMs   *float64 `json:"rtt_min_ms"` // null: no replies in the interval
	RTTAvgMs   *float64 `json:"rtt_avg_ms"`
	RTTMaxMs   *float64 `json:"rtt_max_ms"`
	JitterUpMs *float64 `json:"jitter_up_ms"` // null: fewer than two replies so far
	JitterDnMs *float64 `json:"jitter_down_ms"`
	GoodputBps float64  `json:"goodput_bps"`
	Bytes      int64    `json:"bytes,omitempty"`
	TCPRTTMs   float64  `json:"tcp_rtt_ms,omitempty"`
	TCPRetrans int64    `json:"tcp_retransmits,omitempty"`
	TCPOOO     int64    `json:"tcp_out_of_order,omitempty"`
}

// QoSEvent is one event of a QoS run as --json-stream writes it: the
// engine's event with its configuration reduced to the target. Kind is
// "start", "interval", "progress" or "end".
type QoSEvent struct {
	Kind      string
	Time      time.Time
	Elapsed   time.Duration
	Intervals []qosresult.IntervalStats // interval
	Sent      int64                     // progress
	Received  int64                     // progress
	Fraction  float64                   // progress: share done, -1 when unknown
	Target    string                    // start
	Result    *qosresult.Result         // end
}

// QoSEventDoc converts an event to its NDJSON form.
func QoSEventDoc(ev QoSEvent) EventDoc {
	d := EventDoc{Event: ev.Kind, Time: ev.Time.UTC().Format(time.RFC3339Nano), ElapsedMs: ms(ev.Elapsed)}
	switch ev.Kind {
	case "start":
		d.Target = ev.Target
	case "interval":
		for _, iv := range ev.Intervals {
			d.Intervals = append(d.Intervals, IntervalDoc{
				Stream: iv.Stream, StartMs: ms(iv.Start), EndMs: ms(iv.End),
				Sent: iv.Sent, Received: iv.Received, Lost: iv.Lost, Duplicates: iv.Duplicates, Late: iv.Late,
				RTTMinMs: optMs(iv.RTTMin, iv.Received > 0), RTTAvgMs: optMs(iv.RTTAvg, iv.Received > 0), RTTMaxMs: optMs(iv.RTTMax, iv.Received > 0),
				JitterUpMs: optMs(iv.JitterUp, iv.JitterKnown), JitterDnMs: optMs(iv.JitterDown, iv.JitterKnown), GoodputBps: iv.GoodputBps,
				Bytes: iv.Bytes, TCPRTTMs: ms(iv.TCPRTT), TCPRetrans: iv.TCPRetransmits, TCPOOO: iv.TCPOutOfOrder,
			})
		}
	case "progress":
		s, r, f := ev.Sent, ev.Received, ev.Fraction
		d.Sent, d.Received, d.Fraction = &s, &r, &f
	case "end":
		if ev.Result != nil {
			doc := QoSJSON(ev.Result)
			d.Result = &doc
		}
	}
	return d
}

// WriteQoSEvent writes ev as one compact JSON line (NDJSON).
func WriteQoSEvent(w io.Writer, ev QoSEvent) error {
	return json.NewEncoder(w).Encode(QoSEventDoc(ev))
}
