package report

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/qos/qosresult"
)

// QoSCSVHeader is the column list of the QoS CSV. The first 18 columns are
// the contract of SPEC.md, in that order; the rest may grow at the end.
var QoSCSVHeader = []string{
	"time", "target", "protocol", "sent", "received", "lost", "loss_pct", "duplicates", "reordered",
	"duration_s", "throughput_bps", "rtt_min_ms", "rtt_avg_ms", "rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms",
	"rtt_max_ms", "jitter_ms",
	// Extensions.
	"late", "lost_up", "lost_down", "rtt_p90_ms", "rtt_stddev_ms", "jitter_down_ms",
	"ipdv_up_p95_ms", "ipdv_down_p95_ms", "offered_bps", "offered_wire_bps", "sent_pps",
	"streams", "size", "interval_ms", "timer_misses", "recv_drops", "tcp_retransmits", "late_sends",
	"planned", "refl_dropped", "warnings",
}

// WriteQoSCSV writes res as one CSV row, preceded by the header when
// header is true (the caller knows whether the file it appends to is new).
func WriteQoSCSV(w io.Writer, res *qosresult.Result, header bool) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(QoSCSVHeader); err != nil {
			return err
		}
	}
	if err := cw.Write(QoSCSVRow(res)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// QoSCSVRow is res's row, in QoSCSVHeader's order. Figures that do not
// apply (RTT percentiles of a TCP run, drops the platform does not report)
// are empty.
func QoSCSVRow(res *qosresult.Result) []string {
	if res == nil {
		return nil
	}
	t := res.Total
	i := strconv.FormatInt
	msf := func(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) }
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	drops := ""
	if t.Diag.RecvDropsKnown {
		drops = i(t.Diag.RecvDrops, 10)
	}
	// A figure without samples is an empty cell, never 0 (SPEC).
	rtt := func(d time.Duration) string { return optCell(msf(d), t.RTT.N > 0) }
	jit := func(d time.Duration) string { return optCell(msf(d), t.HasJitter()) }
	row := []string{
		res.Start.UTC().Format(time.RFC3339), res.Target, res.Protocol,
		i(t.Sent, 10), i(t.Received, 10), i(t.Lost, 10), f(t.LossPct, 3), i(t.Duplicates, 10), i(t.Reordered, 10),
		f(res.SendDuration.Seconds(), 3), f(t.Throughput.GoodputBps, 0),
		rtt(t.RTT.Min), rtt(t.RTT.Avg), rtt(t.RTT.P50), rtt(t.RTT.P95), rtt(t.RTT.P99), rtt(t.RTT.Max),
		jit(t.JitterUp),
		i(t.Late, 10), i(t.LostUp, 10), i(t.LostDown, 10), rtt(t.RTT.P90), rtt(t.RTT.Stddev), jit(t.JitterDown),
		optCell(msf(t.IPDVUp.P95), t.IPDVUp.N > 0), optCell(msf(t.IPDVDown.P95), t.IPDVDown.N > 0),
		f(t.Throughput.OfferedBps, 0), f(t.Throughput.OfferedWireBps, 0),
		f(t.Throughput.SentPPS, 1),
		strconv.Itoa(len(res.Streams)), strconv.Itoa(res.Size), msf(res.Interval), i(t.Diag.TimerMisses, 10), drops, "", i(t.Diag.LateSends, 10),
		optCell(i(res.Planned, 10), res.Planned > 0), optCell(i(t.ReflectorDropped, 10), t.ReflectorKnown), warningKinds(res.Warnings),
	}
	if tc := res.TCP; tc != nil {
		// TCP: bytes stand in for datagrams; the RTT is the kernel's.
		for k := 3; k < len(row); k++ {
			row[k] = ""
		}
		row[4] = i(tc.Bytes, 10)
		row[9] = f(res.SendDuration.Seconds(), 3)
		row[10] = f(tc.GoodputBps, 0)
		if tc.InfoKnown {
			row[12] = msf(tc.RTT)
			row[34] = i(tc.Retransmits, 10)
		}
		row[29] = "1"
	}
	return row
}

// warningKinds is the warnings' kinds joined by ";" for one CSV cell.
func warningKinds(ws []qosresult.Warning) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(w.Kind)
	}
	return b.String()
}

// optCell is v when the figure was measured and an empty cell otherwise.
func optCell(v string, ok bool) string {
	if !ok {
		return ""
	}
	return v
}

// errNoResult guards the exported writers against a nil result.
var errNoResult = errors.New("report: no result")
