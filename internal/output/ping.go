package output

import (
	"fmt"
	"io"
	"sync"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/report"
)

// PingEvents prints a ping run's reply and error lines as they come and
// keeps them (for --json).
type PingEvents struct {
	Out    io.Writer
	Err    io.Writer // local errors, on stderr as iputils prints them
	Quiet  bool      // no reply lines (local errors still show)
	Stamps bool      // lead each line with its Unix time, as ping -D
	mu     sync.Mutex
	events []icmp.PingEvent
}

// Event renders ev; it is icmp.PingConfig.OnEvent.
func (r *PingEvents) Event(ev icmp.PingEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if ev.Kind == icmp.PingLocalError {
		// iputils prints these even with -q: the run is not what was asked.
		fmt.Fprintln(r.Err, "ping: "+ev.Message)
		return
	}
	if r.Quiet {
		return
	}
	fmt.Fprintln(r.Out, report.FormatPingEvent(ev, r.Stamps))
}

// Replies are the events so far.
func (r *PingEvents) Replies() []icmp.PingEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events
}
