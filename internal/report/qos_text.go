package report

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/socklab/socklab/internal/qos/qosresult"
	"github.com/socklab/socklab/internal/units"
)

// msStr formats a duration as milliseconds with three decimals (µs precision).
func msStr(d time.Duration) string {
	s := strconv.FormatFloat(ms(d), 'f', 3, 64)
	if s == "-0.000" {
		return "0.000"
	}
	return s
}

// dash stands for a figure that has no sample (no replies): never "0".
const dash = "—"

// optMsStr is msStr(d) when the figure was measured, a dash otherwise.
func optMsStr(d time.Duration, ok bool) string {
	if !ok {
		return dash
	}
	return msStr(d)
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }

// WriteQoSIntervalHeader writes the column titles of the interval lines.
func WriteQoSIntervalHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%-5s %-13s %7s %7s %5s %4s  %-26s %-19s %s\n",
		"[ ID]", "Interval", "Sent", "Recv", "Lost", "Dup", "RTT min/avg/max ms", "Jitter up/down ms", "Goodput")
	return err
}

// WriteQoSInterval writes one line per stream of an interval event,
// iperf3-style; the all-streams line is labelled SUM.
func WriteQoSInterval(w io.Writer, ivs []qosresult.IntervalStats) error {
	for _, iv := range ivs {
		id := fmt.Sprintf("[%3d]", iv.Stream)
		if iv.Stream == 0 {
			id = "[SUM]"
		}
		span := fmt.Sprintf("%.2f-%.2f s", iv.Start.Seconds(), iv.End.Seconds())
		rtt := dash
		if iv.Received > 0 {
			rtt = msStr(iv.RTTMin) + "/" + msStr(iv.RTTAvg) + "/" + msStr(iv.RTTMax)
		}
		jit := dash
		if iv.JitterKnown {
			jit = msStr(iv.JitterUp) + "/" + msStr(iv.JitterDown)
		}
		extra := ""
		if _, err := fmt.Fprintf(w, "%-5s %-13s %7d %7d %5d %4d  %-26s %-19s %s%s\n",
			id, span, iv.Sent, iv.Received, iv.Lost, iv.Duplicates, rtt, jit, units.FormatBitrate(iv.GoodputBps), extra); err != nil {
			return err
		}
	}
	return nil
}

// WriteQoSText writes the end-of-run summary: a per-stream table, then RTT,
// jitter, IPDV, throughput and self-diagnostics for all streams.
func WriteQoSText(w io.Writer, res *qosresult.Result) error {
	if res == nil {
		return errNoResult
	}
	if res.TCP != nil {
		return writeTCPText(w, res)
	}
	ew := &errWriter{w: w}
	t := res.Total
	proto := "udp"
	if res.OneWay {
		proto = "udp one way"
	}
	ew.printf("\n--- %s qos statistics (%s, %d B probes %s, %d stream%s, %.2f s) ---\n",
		res.Target, proto, res.Size, qosPacing(res), len(res.Streams), plural(len(res.Streams)), res.SendDuration.Seconds())
	if res.Interrupted {
		ew.printf("(interrupted: the schedule did not finish)\n")
	}
	writeWarnings(ew, res.Warnings)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stream\tsent\treceived\tlost\tloss\tlost up\tlost down\tdup\treordered\tlate\t")
	row := func(name string, s qosresult.StreamResult) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t\n", name, s.Sent, s.Received, s.Lost, pct(s.LossPct),
			s.LostUp, s.LostDown, s.Duplicates, s.Reordered, s.Late)
	}
	for _, s := range res.Streams {
		row(strconv.Itoa(s.Stream), s)
	}
	if len(res.Streams) != 1 {
		row("all", t)
	}
	tw.Flush()
	if t.ReflectorDropped > 0 {
		ew.printf("dropped by the reflector's rate cap: %d (not path loss, not in lost)\n", t.ReflectorDropped)
	}

	ew.printf("\nRTT ms (reflector dwell removed, %d samples)\n", t.RTT.N)
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "min\tavg\tp50\tp90\tp95\tp99\tmax\tstddev\t")
	l, ok := t.RTT, t.RTT.N > 0
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", optMsStr(l.Min, ok), optMsStr(l.Avg, ok), optMsStr(l.P50, ok),
		optMsStr(l.P90, ok), optMsStr(l.P95, ok), optMsStr(l.P99, ok), optMsStr(l.Max, ok), optMsStr(l.Stddev, ok))
	tw.Flush()

	jok := t.HasJitter()
	ew.printf("\nJitter (RFC 3550) ms   up %s   down %s\n", optMsStr(t.JitterUp, jok), optMsStr(t.JitterDown, jok))
	up, down := t.IPDVUp.N > 0, t.IPDVDown.N > 0
	ew.printf("IPDV (RFC 3393) ms     up mean %s p95 %s max %s   down mean %s p95 %s max %s\n",
		optMsStr(t.IPDVUp.Mean, up), optMsStr(t.IPDVUp.P95, up), optMsStr(t.IPDVUp.Max, up),
		optMsStr(t.IPDVDown.Mean, down), optMsStr(t.IPDVDown.P95, down), optMsStr(t.IPDVDown.Max, down))
	if t.OWDUp != nil {
		ew.printf("One-way delay ms       up min %s p50 %s max %s   down min %s p50 %s max %s (clocks assumed synced)\n",
			msStr(t.OWDUp.Min), msStr(t.OWDUp.P50), msStr(t.OWDUp.Max), msStr(t.OWDDown.Min), msStr(t.OWDDown.P50), msStr(t.OWDDown.Max))
	}
	tp := t.Throughput
	ew.printf("Throughput             offered %s (on wire %s), at reflector %s, received %s, goodput %s\n",
		units.FormatBitrate(tp.OfferedBps), units.FormatBitrate(tp.OfferedWireBps), units.FormatBitrate(tp.ReflectorBps),
		units.FormatBitrate(tp.ReceivedBps), units.FormatBitrate(tp.GoodputBps))
	ew.printf("Packets                %.1f pps sent, %.1f pps received\n", tp.SentPPS, tp.ReceivedPPS)
	d := t.Diag
	drops := "not reported"
	if d.RecvDropsKnown {
		drops = strconv.FormatInt(d.RecvDrops, 10)
	}
	ts := "user space"
	if d.KernelRxTime {
		ts = "kernel"
	}
	ew.printf("Self-check             timer misses %d, late sends %d, schedule error mean %s max %s ms, send errors %d, socket drops %s, rx timestamps %s\n",
		d.TimerMisses, d.LateSends, msStr(d.SchedErrMean), msStr(d.SchedErrMax), d.SendErrors, drops, ts)
	return ew.err
}

// qosPacing is the headline's pacing: what was planned and, when the
// sender fell short of it, what was achieved, so the headline never states
// a rate or an interval the run did not reach.
func qosPacing(res *qosresult.Result) string {
	pacing := "burst"
	if res.Interval > 0 {
		pacing = "every " + res.Interval.String()
	}
	if res.Rate > 0 {
		pacing = units.FormatBitrate(res.Rate) + " (" + pacing + ")"
	}
	t := res.Total
	if res.Behind() {
		achieved := "nothing sent"
		if t.Sent > 0 && len(res.Streams) > 0 {
			per := res.SendDuration / time.Duration(max(t.Sent/int64(len(res.Streams)), 1))
			achieved = "every " + per.Round(time.Microsecond).String() + " achieved"
			if res.Rate > 0 {
				achieved = units.FormatBitrate(t.Throughput.OfferedBps/float64(len(res.Streams))) + " per stream achieved"
			}
		}
		pacing += " planned, " + achieved
	}
	return pacing
}

// writeWarnings prints one "warning:" line per self-limit of the run.
func writeWarnings(ew *errWriter, ws []qosresult.Warning) {
	for _, w := range ws {
		ew.printf("warning: %s\n", w.Message)
	}
}

func writeTCPText(w io.Writer, res *qosresult.Result) error {
	ew := &errWriter{w: w}
	tc := res.TCP
	ew.printf("\n--- %s qos statistics (tcp, %.2f s) ---\n", tc.URL, res.SendDuration.Seconds())
	ew.printf("Received %s, goodput %s", units.FormatBytes(float64(tc.Bytes)), units.FormatBitrate(tc.GoodputBps))
	if tc.Requests > 1 {
		ew.printf(" (%d requests: each body that ran out before the duration was requested again)", tc.Requests)
	}
	ew.printf("\n")
	if tc.InfoKnown {
		ew.printf("TCP_INFO rtt %s ms (var %s ms), retransmitted %d, out of order %d, mss %d\n",
			msStr(tc.RTT), msStr(tc.RTTVar), tc.Retransmits, tc.OutOfOrder, tc.MSS)
	} else {
		ew.printf("TCP_INFO not available on this platform\n")
	}
	return ew.err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// errWriter keeps the first write error so a renderer can check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// WriteTCPIntervalHeader writes the column titles of TCP mode's interval lines.
func WriteTCPIntervalHeader(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%-5s %-13s %12s %16s %12s %8s %8s\n", "[ ID]", "Interval", "Transfer", "Goodput", "RTT ms", "Retrans", "OutOfOrd")
	return err
}

// WriteTCPInterval writes TCP mode's interval line: bytes, goodput and the
// TCP_INFO RTT, the segments this side retransmitted and the segments that
// arrived out of order (the peer's losses as the receiver sees them).
func WriteTCPInterval(w io.Writer, ivs []qosresult.IntervalStats) error {
	for _, iv := range ivs {
		span := fmt.Sprintf("%.2f-%.2f s", iv.Start.Seconds(), iv.End.Seconds())
		if _, err := fmt.Fprintf(w, "[%3d] %-13s %12s %16s %12s %8d %8d\n", iv.Stream, span, units.FormatBytes(float64(iv.Bytes)),
			units.FormatBitrate(iv.GoodputBps), msStr(iv.TCPRTT), iv.TCPRetransmits, iv.TCPOutOfOrder); err != nil {
			return err
		}
	}
	return nil
}
