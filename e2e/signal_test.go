//go:build unix

package e2e

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalExitsAtOnce holds a request in flight in serve and in
// proxy, each with a long --grace: the first SIGINT must log that it is
// draining and how to skip it, the second must end the process at once
// (exit 130) rather than after the grace period.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Run("serve", func(t *testing.T) {
		tcp, _ := freePorts(t, 1)
		p := start(t, "serve", "serve", "--http", tcp[0], "--udp", "off", "--grace", "60s")
		waitTCP(t, p, tcp[0])
		// A 10 GiB body the client never reads keeps the handler busy.
		holdRequest(t, tcp[0], "GET /_socklab/bytes?n=10GiB HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", true)
		interruptTwice(t, p)
	})
	t.Run("proxy", func(t *testing.T) {
		// An upstream that accepts and never answers keeps the proxy's
		// request in flight.
		up, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer up.Close()
		dialed := make(chan struct{}, 1)
		go func() {
			for {
				c, err := up.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				select {
				case dialed <- struct{}{}:
				default:
				}
			}
		}()
		tcp, udp := freePorts(t, 1)
		p := start(t, "proxy", "proxy", "--http", tcp[0], "--udp", udp[0], "--upstream", "http://"+up.Addr().String(),
			"--upstream-timeout", "60s", "--grace", "60s")
		waitTCP(t, p, tcp[0])
		holdRequest(t, tcp[0], "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", false)
		select { // the proxy is inside the request once it dials upstream
		case <-dialed:
		case <-time.After(10 * time.Second):
			t.Fatalf("the proxy never dialled the upstream\n%s", p.stderr.String())
		}
		interruptTwice(t, p)
	})
}

// holdRequest sends req on a new connection to addr and leaves it open for
// the rest of the test; with readStatus it first waits for the status line,
// so the server is known to be inside the handler.
func holdRequest(t *testing.T, addr, req string, readStatus bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if readStatus {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("status line %q: %v", line, err)
		}
	}
}

// interruptTwice sends SIGINT, waits for the draining notice, sends SIGINT
// again and expects the process gone at once with status 130.
func interruptTwice(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// At least the held request; the port probe of waitTCP may still be
	// counted too.
	waitOutput(t, p, "connection", 10*time.Second)
	waitOutput(t, p, ", Ctrl-C again to exit now", 10*time.Second)
	if !regexp.MustCompile(`draining [1-9]\d* connections?, Ctrl-C again to exit now`).MatchString(p.stderr.String()) {
		t.Fatalf("%s: no draining count:\n%s", p.name, p.stderr.String())
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still draining 5 s after the second SIGINT (grace 60s)\n%s", p.name, p.stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("%s: %v, want exit status 130\n%s", p.name, p.err, p.stderr.String())
	}
}

// waitOutput polls p's output until it contains want, p exits, or d passes.
func waitOutput(t *testing.T, p *process, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.stderr.String(), want) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v) without logging %q:\n%s", p.name, p.err, want, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %s:\n%s", p.name, want, d, p.stderr.String())
		}
	}
}
