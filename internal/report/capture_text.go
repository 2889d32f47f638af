package report

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/units"
)

// CaptureText writes the analysis of a capture as a flow table followed by
// the QoS, TCP, HTTP and ICMP details of each flow shown. r.Flows is shown
// as it is; the caller trims it (--top, --flow).
func CaptureText(w io.Writer, r *capture.Result) error {
	ew := &capWriter{w: w}
	kind := r.Format
	if r.Gzip {
		kind += ".gz"
	}
	ew.printf("%s: %s, %s, %d packets, %s, %.3f s, %d flows",
		r.File, kind, strings.Join(r.LinkTypes, "+"), r.Packets, units.FormatBytes(float64(r.Bytes)), r.DurationS, r.FlowsTotal)
	if int64(len(r.Flows)) < r.FlowsTotal {
		ew.printf(" (%d shown)", len(r.Flows))
	}
	ew.printf("\n")
	var notes []string
	if r.Filtered > 0 {
		notes = append(notes, fmt.Sprintf("%d packets filtered out", r.Filtered))
	}
	if r.NonIP > 0 {
		notes = append(notes, fmt.Sprintf("%d non-IP", r.NonIP))
	}
	if r.OtherIP > 0 {
		notes = append(notes, fmt.Sprintf("%d other IP (protocols not followed, fragments)", r.OtherIP))
	}
	if r.Malformed > 0 {
		notes = append(notes, fmt.Sprintf("%d malformed", r.Malformed))
	}
	if r.Evicted.Flows > 0 {
		notes = append(notes, fmt.Sprintf("%d small flows evicted from the full flow table (%d packets)", r.Evicted.Flows, r.Evicted.Packets))
	}
	if len(notes) > 0 {
		ew.printf("  %s\n", strings.Join(notes, ", "))
	}
	for _, n := range r.Notes {
		ew.printf("note: %s\n", n)
	}
	if len(r.Flows) == 0 {
		ew.printf("no flows\n")
		return ew.err
	}
	ew.printf("\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tPROTO\tCLIENT\tSERVER\tPACKETS\tBYTES\tDURATION\tAVG RATE\tPEAK RATE\tSIZE min/avg/max")
	for i, f := range r.Flows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%.3f s\t%s\t%s\t%.0f/%.0f/%.0f\n", i+1, f.Protocol, f.Client, f.Server,
			f.Packets, units.FormatBytes(float64(f.Bytes)), f.DurationS, capRate(f.ThroughputBps), capRate(f.PeakBps),
			f.PacketSize.Min, f.PacketSize.Avg, f.PacketSize.Max)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, f := range r.Flows {
		details := capFlowDetails(&f)
		if len(details) == 0 {
			continue
		}
		ew.printf("\n#%d %s %s → %s\n", i+1, f.Protocol, f.Client, f.Server)
		for _, d := range details {
			ew.printf("  %s\n", d)
		}
	}
	if r.Interrupted {
		ew.printf("\ninterrupted: the figures cover the first %d packets\n", r.Packets)
	}
	if s := r.Stopped; s != nil {
		ew.printf("\ncapture unreadable from packet %d (byte offset %d): %s; analysed the %d packets before it\n",
			s.Packet, s.Offset, s.Reason, s.Packet-1)
	}
	return ew.err
}

func capFlowDetails(f *capture.FlowReport) []string {
	var out []string
	for _, q := range f.QoS {
		out = append(out, fmt.Sprintf("qos session %s: sent %d, received %d, lost %d (%.2f%%), duplicates %d, reordered %d",
			q.Session, q.Sent, q.Received, q.Lost, q.LossPct, q.Duplicates, q.Reordered))
		if q.RequestsMissing > 0 {
			out = append(out, fmt.Sprintf("  %d requests missing before the capture point", q.RequestsMissing))
		}
		if q.RTT != nil {
			out = append(out, "  rtt "+capLatency(q.RTT))
		}
		line := fmt.Sprintf("  jitter %.3f ms (fwd %.3f, rev %.3f)", q.JitterMs, q.JitterFwdMs, q.JitterRevMs)
		if q.IPDVFwd != nil {
			line += fmt.Sprintf(", ipdv fwd mean %.3f |p95| %.3f |max| %.3f ms", capRound3(q.IPDVFwd.MeanMs), q.IPDVFwd.AbsP95, q.IPDVFwd.AbsMax)
		}
		if q.IPDVRev != nil {
			line += fmt.Sprintf(", rev mean %.3f |p95| %.3f |max| %.3f ms", capRound3(q.IPDVRev.MeanMs), q.IPDVRev.AbsP95, q.IPDVRev.AbsMax)
		}
		out = append(out, line)
	}
	if u := f.UDP; u != nil {
		line := fmt.Sprintf("udp: %d datagrams, jitter fwd %.3f ms, rev %.3f ms", u.Datagrams, u.JitterFwdMs, u.JitterRevMs)
		if u.EchoRTT != nil {
			line += ", echo rtt " + capLatency(u.EchoRTT)
		}
		out = append(out, line)
	}
	if t := f.TCP; t != nil {
		line := "tcp:"
		if t.HandshakeRTTMs != nil {
			line += fmt.Sprintf(" handshake %.3f ms,", *t.HandshakeRTTMs)
		}
		if t.RTT != nil {
			line += " rtt " + capLatency(t.RTT) + ","
		}
		line += fmt.Sprintf(" payload %s / %s (%s / %s), retransmissions %d, out-of-order %d, zero windows %d, resets %d",
			units.FormatBytes(float64(t.PayloadFwd)), units.FormatBytes(float64(t.PayloadRev)),
			capRate(t.GoodputFwdBps), capRate(t.GoodputRevBps),
			t.Retransmissions, t.OutOfOrder, t.ZeroWindows, t.Resets)
		out = append(out, line)
	}
	if h := f.HTTP; h != nil {
		out = append(out, fmt.Sprintf("http: %d requests (%s), %d responses (%s)",
			h.Requests, capCounts(h.Methods), h.Responses, capCounts(h.Statuses)))
		for _, s := range h.Samples {
			out = append(out, "  "+s)
		}
	}
	if c := f.ICMP; c != nil {
		line := fmt.Sprintf("icmp echo id %d: %d requests, %d replies, %.1f%% loss", c.Identifier, c.Requests, c.Replies, c.LossPct)
		if c.RTT != nil {
			line += ", rtt " + capLatency(c.RTT)
		}
		if c.Other > 0 {
			line += fmt.Sprintf(", %d other messages", c.Other)
		}
		out = append(out, line)
	}
	return out
}

// latency renders RTT figures iputils-style, with quantiles when known.
func capLatency(l *capture.Latency) string {
	if l.P50Ms != nil {
		return fmt.Sprintf("min/avg/p50/p95/p99/max = %.3f/%.3f/%.3f/%.3f/%.3f/%.3f ms (%d samples)",
			l.MinMs, l.AvgMs, *l.P50Ms, *l.P95Ms, *l.P99Ms, l.MaxMs, l.Samples)
	}
	return fmt.Sprintf("min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms (%d samples)", l.MinMs, l.AvgMs, l.MaxMs, l.MdevMs, l.Samples)
}

func capCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func capRate(bps float64) string { return units.FormatBitrate(math.Round(bps)) }

// capWriter keeps the first write error so rendering code stays linear.
type capWriter struct {
	w   io.Writer
	err error
}

func (e *capWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *capWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
