package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/socklab/socklab/internal/capture"
)

// CaptureCSVHeader names the columns CaptureCSV writes, one row per flow.
// The RTT columns come from the flow's first qoswire session, else its TCP
// segments, ICMP echoes or UDP echoes; the loss columns from the first
// qoswire session or the ICMP echoes; jitter_ms is the session's jitter_ms,
// or for other UDP the larger of the two directions' arrival jitter. Empty
// cells mean "not measured".
var CaptureCSVHeader = []string{
	"file", "protocol", "client", "server", "start", "duration_s", "packets", "bytes",
	"packets_fwd", "packets_rev", "bytes_fwd", "bytes_rev", "throughput_bps", "peak_bps",
	"size_min", "size_avg", "size_max",
	"sent", "received", "lost", "loss_pct", "duplicates", "reordered",
	"rtt_min_ms", "rtt_avg_ms", "rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms", "rtt_max_ms", "jitter_ms",
	"handshake_rtt_ms", "retransmissions", "out_of_order", "zero_windows", "http_requests",
}

// CaptureCSV writes the header and one row per flow of r.
func CaptureCSV(w io.Writer, r *capture.Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CaptureCSVHeader); err != nil {
		return err
	}
	for i := range r.Flows {
		if err := cw.Write(captureCSVRow(r.File, &r.Flows[i])); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func captureCSVRow(file string, f *capture.FlowReport) []string {
	fl := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	in := func(v int64) string { return strconv.FormatInt(v, 10) }
	row := []string{
		file, f.Protocol, f.Client, f.Server, f.Start.Format(time.RFC3339Nano), fl(f.DurationS), in(f.Packets), in(f.Bytes),
		in(f.PacketsFwd), in(f.PacketsRev), in(f.BytesFwd), in(f.BytesRev), fl(f.ThroughputBps), fl(f.PeakBps),
		fl(f.PacketSize.Min), fl(f.PacketSize.Avg), fl(f.PacketSize.Max),
	}
	loss := make([]string, 6)
	var rtt *capture.Latency
	jitter := ""
	switch {
	case len(f.QoS) > 0:
		q := f.QoS[0]
		loss = []string{in(q.Sent), in(q.Received), in(q.Lost), fl(q.LossPct), in(q.Duplicates), in(q.Reordered)}
		rtt, jitter = q.RTT, fl(q.JitterMs)
	case f.ICMP != nil:
		c := f.ICMP
		loss = []string{in(c.Requests), in(c.Replies), in(c.Lost), fl(c.LossPct), in(c.Duplicates), ""}
		rtt = c.RTT
	case f.TCP != nil:
		rtt = f.TCP.RTT
	case f.UDP != nil:
		rtt = f.UDP.EchoRTT
		jitter = fl(max(f.UDP.JitterFwdMs, f.UDP.JitterRevMs))
	}
	row = append(row, loss...)
	rtts := make([]string, 6)
	if rtt != nil {
		opt := func(p *float64) string {
			if p == nil {
				return ""
			}
			return fl(*p)
		}
		rtts = []string{fl(rtt.MinMs), fl(rtt.AvgMs), opt(rtt.P50Ms), opt(rtt.P95Ms), opt(rtt.P99Ms), fl(rtt.MaxMs)}
	}
	row = append(row, rtts...)
	row = append(row, jitter)
	tcp := make([]string, 4)
	if t := f.TCP; t != nil {
		hs := ""
		if t.HandshakeRTTMs != nil {
			hs = fl(*t.HandshakeRTTMs)
		}
		tcp = []string{hs, in(t.Retransmissions), in(t.OutOfOrder), in(t.ZeroWindows)}
	}
	row = append(row, tcp...)
	http := ""
	if f.HTTP != nil {
		http = in(f.HTTP.Requests)
	}
	return append(row, http)
}
