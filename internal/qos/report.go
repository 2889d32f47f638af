package qos

import (
	"context"
	"fmt"
	"time"

	"github.com/socklab/socklab/internal/qos/qosresult"
	"github.com/socklab/socklab/internal/qoswire"
)

// reflReport is the reflector's answer to a report request; ok is false
// when the reflector answered but does not keep reports (an older one).
type reflReport struct {
	qoswire.Report
	ok bool
}

// Report requests: each try waits reportWait for the answers, reportTries
// tries in all, so a reflector that never answers costs at most 0.45 s.
const (
	reportWait  = 150 * time.Millisecond
	reportTries = 3
)

// requestReports asks the reflector, for every stream that had replies,
// what it counted for the stream's session, and returns the answers that
// came. A reflector that sent nothing back is not asked; neither is one
// when the run was cancelled during the wait.
func requestReports(ctx context.Context, streams []*stream, interrupted, oneWay bool) map[*stream]qoswire.Report {
	got := map[*stream]qoswire.Report{}
	if !interrupted && ctx.Err() != nil {
		return got
	}
	pending := map[*stream]bool{}
	for _, s := range streams {
		if oneWay || s.col.anyReply() {
			pending[s] = true
		}
	}
	buf := make([]byte, qoswire.ReportLen)
	for try := 0; try < reportTries && len(pending) > 0; try++ {
		for s := range pending {
			_ = qoswire.MarshalReportRequest(buf, s.col.session)
			_, _ = s.conn.Write(buf) // a lost request is retried
		}
		awaitReports(pending, got, time.Now().Add(reportWait))
	}
	return got
}

// awaitReports collects answers for the pending streams until all came or
// the deadline passed, polling every stream's channel (a wait on one at a
// time would serialise the streams' waits).
func awaitReports(pending map[*stream]bool, got map[*stream]qoswire.Report, deadline time.Time) {
	for len(pending) > 0 && time.Now().Before(deadline) {
		progress := false
		for s := range pending {
			select {
			case rep := <-s.report:
				delete(pending, s)
				if rep.ok {
					got[s] = rep.Report
				}
				progress = true
			default:
			}
		}
		if !progress {
			time.Sleep(time.Millisecond)
		}
	}
}

// applyReport corrects the stream's loss with what the reflector counted:
// probes that never arrived are upstream loss (exact, no longer an
// estimate), probes its rate cap dropped are the reflector's own limit and
// leave path loss altogether, and the rest were lost on the way back.
func applyReport(r *StreamResult, rep qoswire.Report) {
	r.ReflectorKnown = true
	r.ReflectorSocketDrops = int64(rep.SocketDrops)
	arrived := int64(min(rep.Received, uint64(r.Sent)))
	r.ReflectorDropped = min(int64(rep.DroppedRate), r.Lost)
	r.LostUp = min(max(r.Sent-arrived, 0), r.Lost)
	r.Lost -= r.ReflectorDropped
	r.LostDown = max(r.Lost-r.LostUp, 0)
	r.LostUp = r.Lost - r.LostDown
	fillPcts(r)
}

// applyOneWay fills a one-way stream's figures from the reflector's report:
// what arrived is what was received (nothing comes back), the rest was lost
// on the way there or dropped by the reflector's cap; throughput is the
// payload the reflector saw over the time it saw it.
func applyOneWay(r *StreamResult, rep qoswire.Report, size int) {
	r.ReflectorKnown = true
	r.ReflectorSocketDrops = int64(rep.SocketDrops)
	r.ReflectorDropped = min(int64(rep.DroppedRate), r.Sent)
	arrived := min(int64(rep.Received), r.Sent)
	r.Received = max(arrived-r.ReflectorDropped, 0)
	r.LostUp = r.Sent - arrived
	r.Lost, r.LostDown = r.LostUp, 0
	fillPcts(r)
	r.JitterUp, r.JitterDown = time.Duration(rep.Jitter), 0
	r.IPDVUp, r.IPDVDown = IPDV{}, IPDV{}
	if dt := time.Duration(rep.LastRecv - rep.FirstRecv); dt > 0 && arrived > 1 {
		// n arrivals span n−1 gaps: rate the bytes of n−1 probes over it.
		r.Throughput.ReflectorBps = float64((arrived-1)*int64(size)*8) / dt.Seconds()
	}
	r.Throughput.GoodputBps = r.Throughput.ReflectorBps
	r.Throughput.ReceivedBps = r.Throughput.ReflectorBps
	if s := r.Throughput.SentPPS; s > 0 && r.Sent > 0 {
		r.Throughput.ReceivedPPS = s * float64(r.Received) / float64(r.Sent)
	}
}

// Warning kinds (qosresult's).
const (
	WarnSenderBehind  = qosresult.WarnSenderBehind
	WarnReflectorCap  = qosresult.WarnReflectorCap
	WarnSocketDrops   = qosresult.WarnSocketDrops
	WarnSendErrors    = qosresult.WarnSendErrors
	WarnReflectorDrop = qosresult.WarnReflectorDrop
)

// warnings lists the self-limits that touched res.
func warnings(res *Result) []Warning {
	t := res.Total
	var w []Warning
	if res.Behind() {
		msg := fmt.Sprintf("sender behind schedule: sent %d of %d planned probes (%.1f%%)", t.Sent, res.Planned, float64(t.Sent)*100/float64(res.Planned))
		if t.Sent >= res.Planned {
			// A --count run sends every probe, later than planned.
			msg = fmt.Sprintf("sender behind schedule: sent all %d probes, later than planned (%d of %d slots missed)", t.Sent, t.Diag.TimerMisses, t.Sent+t.Diag.TimerMisses)
		}
		if d := t.Diag; d.TimerMisses > 0 && t.Sent < res.Planned {
			msg += fmt.Sprintf(", %d slots missed", d.TimerMisses)
		}
		if d := t.Diag; d.TimerMisses > 0 {
			msg += fmt.Sprintf(", schedule error mean %s max %s", d.SchedErrMean.Round(time.Microsecond), d.SchedErrMax.Round(time.Microsecond))
		}
		w = append(w, Warning{Kind: WarnSenderBehind, Message: msg})
	}
	if t.ReflectorDropped > 0 {
		w = append(w, Warning{Kind: WarnReflectorCap, Message: fmt.Sprintf("the reflector's rate cap dropped %d probes: not path loss; raise its cap (socklab serve --udp-max-pps) or lower the rate", t.ReflectorDropped)})
	}
	if t.ReflectorSocketDrops > 0 {
		w = append(w, Warning{Kind: WarnReflectorDrop, Message: fmt.Sprintf("the reflector's socket dropped %d datagrams while this run went on (receive queue full): up to that many of the upstream losses are the reflector's, not the path's", t.ReflectorSocketDrops)})
	}
	if t.Diag.RecvDrops > 0 {
		w = append(w, Warning{Kind: WarnSocketDrops, Message: fmt.Sprintf("this host's socket dropped %d replies (receive buffer full): they count as lost", t.Diag.RecvDrops)})
	}
	if t.Diag.SendErrors > 0 {
		w = append(w, Warning{Kind: WarnSendErrors, Message: fmt.Sprintf("%d probes could not be sent (socket errors)", t.Diag.SendErrors)})
	}
	return w
}
