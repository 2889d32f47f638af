package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// barLine is the one progress bar of every command (qos, load): a bar and
// a percentage when the end is known (fraction in [0, 1]), the elapsed
// time when it is not (fraction < 0). Callers append their own counters.
func barLine(fraction float64, elapsed time.Duration, width int) string {
	if fraction < 0 {
		return fmt.Sprintf("[%5.1f s]", elapsed.Seconds())
	}
	fraction = min(fraction, 1)
	n := int(fraction * float64(width))
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat("-", width-n), fraction*100)
}

// isTerminal reports whether w is a terminal (progress bars only go there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
