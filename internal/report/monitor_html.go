package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/socklab/socklab/internal/monitor/monitorresult"
)

// WriteMonitorHTML writes the live page of socklab monitor: a summary table
// of every target, then per target the RTT over the history window
// (min–max band and mean per bucket) and the loss per bucket. It is
// self-contained (inline SVG, no script); now is the right edge of the
// charts.
func WriteMonitorHTML(w io.Writer, targets []monitorresult.Status, now time.Time) error {
	p := Page{
		Title:    "socklab monitor",
		Subtitle: fmt.Sprintf("%d targets, as of %s", len(targets), now.UTC().Format(time.RFC3339)),
		Footer:   "Metrics: /metrics (socklab_monitor_*). UDP RTT excludes the reflector's dwell time; jitter is RFC 3550.",
	}
	p.Add("Targets", monitorTable(targets).HTML())
	for _, s := range targets {
		if !hasData(s.History) {
			p.Add(s.Target).Note = "No probe decided in the window yet."
			continue
		}
		p.Add(s.Target, monitorRTTChart(s, now).HTML(), monitorLossChart(s, now).HTML())
	}
	if len(targets) == 0 {
		p.Sections[0].Note = "No targets: give some on the command line or in --targets FILE (re-read on SIGHUP)."
	}
	return p.Write(w)
}

func monitorTable(targets []monitorresult.Status) Table {
	t := Table{Header: []string{"target", "state", "sent", "received", "lost", "loss %", "lost up", "lost down",
		"dup", "reordered", "last RTT (ms)", "jitter (ms)", "last error"}}
	for _, s := range targets {
		state := "down"
		if s.Up {
			state = "up"
		}
		// No reply yet: no RTT and no jitter, rather than a false 0.
		rtt, jitter := "", ""
		if s.Received > 0 {
			rtt, jitter = msStr(s.LastRTT), msStr(s.JitterRoundTrip)
			if s.Kind == monitorresult.KindUDP {
				jitter = msStr(s.JitterUp) + " up / " + msStr(s.JitterDown) + " down"
			}
		}
		lossPct := ""
		if s.Received+s.Lost > 0 {
			lossPct = strconv.FormatFloat(float64(s.Lost)*100/float64(s.Received+s.Lost), 'f', 2, 64)
		}
		up, down := "", ""
		if s.Kind == monitorresult.KindUDP {
			up, down = strconv.FormatInt(s.LostUp, 10), strconv.FormatInt(s.LostDown, 10)
		}
		t.Rows = append(t.Rows, []string{s.Target, state, itoa(s.Sent), itoa(s.Received), itoa(s.Lost), lossPct, up, down,
			itoa(s.Duplicates), itoa(s.Reordered), rtt, jitter, s.LastError})
	}
	return t
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// minutesBefore is the x coordinate of a bucket: its start, in minutes
// before now (negative, so time runs left to right up to 0).
func minutesBefore(b monitorresult.Bucket, now time.Time) float64 {
	return -now.Sub(b.Start).Minutes()
}

func hasData(h []monitorresult.Bucket) bool {
	for _, b := range h {
		if b.Received+b.Lost > 0 {
			return true
		}
	}
	return false
}

func monitorRTTChart(s monitorresult.Status, now time.Time) LineChart {
	var band, mean []XY
	for _, b := range s.History {
		x := minutesBefore(b, now)
		if b.Received == 0 {
			mean = append(mean, XY{X: x, Y: math.NaN()}) // lift the pen
			continue
		}
		band = append(band, XY{X: x, Y: b.RTT.Max() / 1e6, Y0: b.RTT.Min() / 1e6})
		mean = append(mean, XY{X: x, Y: b.RTT.Mean() / 1e6})
	}
	return LineChart{
		Title: "RTT", XLabel: "minutes before now", YLabel: "RTT (ms)", YFromZero: true,
		Series: []Series{
			{Name: "min–max", Style: StyleBand, Points: band, Color: Palette[0]},
			{Name: "mean", Style: StyleLine, Points: mean, Color: Palette[0]},
		},
	}
}

func monitorLossChart(s monitorresult.Status, now time.Time) LineChart {
	var loss []XY
	for _, b := range s.History {
		if decided := b.Received + b.Lost; decided > 0 {
			loss = append(loss, XY{X: minutesBefore(b, now), Y: float64(b.Lost) * 100 / float64(decided)})
		}
	}
	return LineChart{
		Title: "Loss", XLabel: "minutes before now", YLabel: "lost (%)", YFromZero: true, Height: 160,
		Series: []Series{{Name: "loss", Style: StyleStep, Points: loss, Color: Palette[5]}},
	}
}

// WriteMonitorText prints one line per target: what monitor prints when it
// stops.
func WriteMonitorText(w io.Writer, targets []monitorresult.Status) error {
	ew := &errWriter{w: w}
	for _, s := range targets {
		ew.printf("%s: %d sent, %d received, %d lost", s.Target, s.Sent, s.Received, s.Lost)
		if s.Kind == monitorresult.KindUDP && s.LostUp+s.LostDown > 0 {
			ew.printf(" (%d up, %d down)", s.LostUp, s.LostDown)
		}
		if s.Duplicates > 0 || s.Reordered > 0 {
			ew.printf(", %d duplicates, %d reordered", s.Duplicates, s.Reordered)
		}
		if s.Received > 0 {
			ew.printf(", last rtt %s ms", msStr(s.LastRTT))
		}
		if s.LastError != "" {
			ew.printf(", last error: %s", s.LastError)
		}
		ew.printf("\n")
	}
	return ew.err
}
