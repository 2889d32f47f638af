package stack

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// DrainNotice logs, once the first SIGINT/SIGTERM has cancelled sigCtx, how
// many connections the command is draining and for how long at most, so a
// shutdown that takes the whole --grace is not silent. cmd/socklab exits at
// once on the second signal. The returned stop ends the watch.
func DrainNotice(sigCtx context.Context, log *slog.Logger, grace time.Duration, open func() int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-done:
			return
		case <-sigCtx.Done():
		}
		if n := open(); n > 0 {
			log.Info(fmt.Sprintf("draining %d %s, Ctrl-C again to exit now", n, plural(n, "connection")), "grace", grace)
		}
	}()
	return func() { close(done); <-finished }
}

// plural returns word for one and word+"s" otherwise.
func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
