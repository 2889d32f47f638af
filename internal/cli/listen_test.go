package cli

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// cmdTimeout bounds every wait on a command started by startCmd.
const cmdTimeout = 20 * time.Second

// runningCmd is a long-running command (serve, proxy) started by startCmd.
type runningCmd struct {
	addrs  map[string]string // bound addresses by service name
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startCmd runs args under Main and waits, up to cmdTimeout, until the
// command has bound every service named in want; the OnListen hook tells
// it the real addresses, so the command binds 127.0.0.1:0 and no port is
// raced for and nothing is polled. The command is stopped at cleanup.
func startCmd(t *testing.T, want []string, args ...string) *runningCmd {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bound := make(chan [2]string, 16)
	ctx = WithOnListen(ctx, func(name string, addr net.Addr) { bound <- [2]string{name, addr.String()} })
	r := &runningCmd{addrs: map[string]string{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() { r.done <- Main(ctx, args, strings.NewReader(""), io.Discard, r.stderr) }()
	t.Cleanup(func() { r.stop(t) })
	timer := time.NewTimer(cmdTimeout)
	defer timer.Stop()
	for missing := len(want); missing > 0; {
		select {
		case b := <-bound:
			r.addrs[b[0]] = b[1]
			missing = len(want)
			for _, w := range want {
				if r.addrs[w] != "" {
					missing--
				}
			}
		case code := <-r.done:
			r.done <- code
			t.Fatalf("%v exited %d before binding %v: %s", args, code, want, r.stderr.String())
		case <-timer.C:
			t.Fatalf("%v did not bind %v within %v (bound %v)", args, want, cmdTimeout, r.addrs)
		}
	}
	return r
}

// stop cancels the command as SIGINT would and returns its exit code.
func (r *runningCmd) stop(t *testing.T) int {
	t.Helper()
	r.cancel()
	select {
	case code := <-r.done:
		r.done <- code // a second stop sees the same code
		return code
	case <-time.After(cmdTimeout):
		t.Fatalf("command did not stop within %v", cmdTimeout)
		return -1
	}
}
