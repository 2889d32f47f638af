package output

import (
	"fmt"
	"io"
	"time"

	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/units"
)

// QoSEvents renders a qos run's events as they come: interval lines or NDJSON on
// stdout, and the progress bar on stderr. The engine calls it from one
// goroutine at a time.
type QoSEvents struct {
	Stdout, Stderr io.Writer
	// JSON prints nothing as the run goes (the document comes at the
	// end); JSONStream prints every event but progress as NDJSON.
	JSON, JSONStream bool
	// Progress draws the bar (on a terminal, for runs over 2 s).
	Progress bool
	// Config is the run's configuration; the start event replaces it
	// with the engine's, defaults filled in.
	Config qos.Config

	barShown bool
	header   bool
}

// Event renders ev; it is qos.Config.OnEvent.
func (o *QoSEvents) Event(ev qos.Event) {
	if ev.Kind == qos.EventStart && ev.Config != nil {
		o.Config = *ev.Config // with the engine's defaults filled in
	}
	if o.JSONStream {
		if ev.Kind != qos.EventProgress {
			_ = report.WriteQoSEvent(o.Stdout, qosEvent(ev))
		}
		return
	}
	if o.JSON {
		return
	}
	switch ev.Kind {
	case qos.EventStart:
		fmt.Fprintln(o.Stdout, qosBanner(o.Config))
	case qos.EventInterval:
		o.ClearBar()
		tcp := o.Config.TCP != ""
		if !o.header {
			if tcp {
				_ = report.WriteTCPIntervalHeader(o.Stdout)
			} else {
				_ = report.WriteQoSIntervalHeader(o.Stdout)
			}
			o.header = true
		}
		if tcp {
			_ = report.WriteTCPInterval(o.Stdout, ev.Intervals)
		} else {
			_ = report.WriteQoSInterval(o.Stdout, ev.Intervals)
		}
	case qos.EventProgress:
		if o.Progress && o.longRun(ev) {
			o.drawBar(ev)
		}
	}
}

// qosEvent is ev as report renders it: the configuration reduced to the
// target it names.
func qosEvent(ev qos.Event) report.QoSEvent {
	r := report.QoSEvent{Kind: string(ev.Kind), Time: ev.Time, Elapsed: ev.Elapsed, Intervals: ev.Intervals,
		Sent: ev.Sent, Received: ev.Received, Fraction: ev.Fraction, Result: ev.Result}
	if c := ev.Config; c != nil {
		r.Target = c.Target
		if c.TCP != "" {
			r.Target = c.TCP
		}
	}
	return r
}

// longRun: the bar is for runs over 2 s — planned so, or already past 2 s.
func (o *QoSEvents) longRun(ev qos.Event) bool {
	if ev.Elapsed > 2*time.Second {
		return true
	}
	if ev.Fraction > 0 {
		return time.Duration(float64(ev.Elapsed)/ev.Fraction) > 2*time.Second
	}
	return false
}

func (o *QoSEvents) drawBar(ev qos.Event) {
	line := BarLine(ev.Fraction, ev.Elapsed, 30)
	if o.Config.TCP == "" {
		line += fmt.Sprintf("  %d sent  %d received", ev.Sent, ev.Received)
	}
	fmt.Fprintf(o.Stderr, "\r\033[K%s", line)
	o.barShown = true
}

// ClearBar erases the bar, if shown.
func (o *QoSEvents) ClearBar() {
	if o.barShown {
		fmt.Fprint(o.Stderr, "\r\033[K")
		o.barShown = false
	}
}

// qosBanner is the line that opens a text run.
func qosBanner(c qos.Config) string {
	if c.TCP != "" {
		return fmt.Sprintf("socklab qos: TCP goodput from %s for %s", c.TCP, c.Duration)
	}
	what := fmt.Sprintf("%d B probes", c.Size)
	if c.Count > 0 {
		what = fmt.Sprintf("%d probes of %d B", c.Count, c.Size)
	}
	pacing := "as fast as possible"
	if !c.Burst {
		pacing = "every " + c.Interval.String()
		if c.Rate > 0 {
			pacing = "at " + units.FormatBitrate(c.Rate) + " (every " + c.Interval.String() + ")"
		}
	}
	if c.Duration > 0 {
		pacing += " for " + c.Duration.String()
	}
	streams := "1 stream"
	if c.Streams > 1 {
		streams = fmt.Sprintf("%d streams", c.Streams)
	}
	return fmt.Sprintf("socklab qos → %s: %s %s, %s (udp)", c.Target, what, pacing, streams)
}
