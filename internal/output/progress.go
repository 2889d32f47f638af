// Package output puts the engines' results where a command sends them
// besides stdout: the files a run appends to or writes (the qos CSV and
// HTML report, any rendered file), and the terminal's live view (the
// progress bar, the qos interval lines and NDJSON events, ping's lines),
// and reading back the documents commands wrote (load --json, for merge).
// Renderers stay in report; output opens the files and follows the run.
package output

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/load"
	"golang.org/x/term"
)

// BarLine is the one progress bar of every command (qos, load): a bar and
// a percentage when the end is known (fraction in [0, 1]), the elapsed
// time when it is not (fraction < 0). Callers append their own counters.
func BarLine(fraction float64, elapsed time.Duration, width int) string {
	if fraction < 0 {
		return fmt.Sprintf("[%5.1f s]", elapsed.Seconds())
	}
	fraction = min(fraction, 1)
	n := int(fraction * float64(width))
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat("-", width-n), fraction*100)
}

// IsTerminal reports whether w is a terminal (progress bars only go there).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// LoadProgress draws a progress bar on w while the run lasts, when w is a
// terminal; piped output gets none. The returned func erases the bar.
func LoadProgress(w io.Writer, l *load.Load) (stop func()) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	width := 30
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 70 {
		width = min(cols-45, 50)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprint(f, "\r"+progressLine(l.Progress(), width))
			}
		}
	}()
	return func() { close(done); <-finished }
}

// progressLine renders one progress snapshot: bar, count, errors, rate.
func progressLine(p load.Progress, width int) string {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Done) / s
	}
	return fmt.Sprintf("%s  %d req  %d err  %.0f req/s", BarLine(p.Fraction(), p.Elapsed, width), p.Done, p.Errors, rate)
}
