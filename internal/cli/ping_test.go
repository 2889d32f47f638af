//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/socklab/socklab/internal/netnstest"
)

func TestPingUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"ping", "-4", "-6", "127.0.0.1"},
		{"ping", "-M", "maybe", "127.0.0.1"},
		{"ping", "-s", "70000", "127.0.0.1"},
		{"ping", "-6", "127.0.0.1"},
		{"ping"},
		{"ping", "-c", "0", "127.0.0.1"}, // iputils refuses both
		{"ping", "-t", "0", "127.0.0.1"},
		{"ping", "-I", "nosuch0", "127.0.0.1"},
		{"ping", "-I", "192.0.2.77", "127.0.0.1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, stderr := run(t, "", args...); code != ExitUsage || stderr == "" {
				t.Errorf("exit %d, stderr %q; want %d and a message", code, stderr, ExitUsage)
			}
		})
	}
}

var replyLine = regexp.MustCompile(`^64 bytes from (127\.0\.0\.1|::1): icmp_seq=[12] ttl=64 time=\d+\.\d+ ms$`)

func TestPingLoopbackOutput(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: -i below 0.2s and raw sockets (the icmp package tests datagram sockets)")
	}
	for _, host := range []string{"127.0.0.1", "::1"} {
		t.Run(host, func(t *testing.T) {
			code, out, stderr := run(t, "", "ping", "-c", "2", "-i", "0.01", host)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 7 {
				t.Fatalf("output:\n%s", out)
			}
			if !strings.HasPrefix(lines[0], "PING "+host+" ("+host+") 56") {
				t.Errorf("header %q", lines[0])
			}
			for _, l := range lines[1:3] {
				if !replyLine.MatchString(l) {
					t.Errorf("reply line %q", l)
				}
			}
			if lines[4] != "--- "+host+" ping statistics ---" || !strings.HasPrefix(lines[5], "2 packets transmitted, 2 received, 0% packet loss, time ") ||
				!strings.HasPrefix(lines[6], "rtt min/avg/max/mdev = ") {
				t.Errorf("summary:\n%s", strings.Join(lines[4:], "\n"))
			}
		})
	}
}

// TestPingRoutedPath runs "socklab ping" inside the source namespace of
// source → r1 → r2 → r3 → destination.
func TestPingRoutedPath(t *testing.T) {
	c := netnstest.NewChain(t, 3)
	inSource := func(args ...string) (code int, out, stderr string) {
		t.Helper()
		if err := netnstest.Do(c.Source(), func() error {
			var o, e bytes.Buffer
			code = Main(context.Background(), args, strings.NewReader(""), &o, &e)
			out, stderr = o.String(), e.String()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return code, out, stderr
	}
	t.Run("ttl 2 expires at the second router", func(t *testing.T) {
		code, out, _ := inSource("ping", "-c", "2", "-i", "0.01", "-W", "1", "-t", "2", c.Dest4().String())
		if code != ExitFailure {
			t.Errorf("exit %d, want 1 (no reply)", code)
		}
		for _, want := range []string{
			"From 10.201.2.2 icmp_seq=1 Time to live exceeded\n",
			"From 10.201.2.2 icmp_seq=2 Time to live exceeded\n",
			"2 packets transmitted, 0 received, +2 errors, 100% packet loss",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in:\n%s", want, out)
			}
		}
	})
	t.Run("reaches the destination with ttl 61", func(t *testing.T) {
		code, out, _ := inSource("ping", "-6", "-c", "2", "-i", "0.01", c.Dest6().String())
		if code != ExitOK || !strings.Contains(out, "64 bytes from fd00:201:4::2: icmp_seq=1 ttl=61 time=") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("-I binds the interface", func(t *testing.T) {
		code, out, _ := inSource("ping", "-c", "1", "-W", "1", "-I", "east", c.Dest4().String())
		if code != ExitOK || !strings.Contains(out, "1 received") {
			t.Errorf("-I east: exit %d:\n%s", code, out)
		}
		// Bound to lo, the request cannot leave for the destination.
		code, out, _ = inSource("ping", "-c", "1", "-W", "0.5", "-I", "lo", c.Dest4().String())
		if code != ExitFailure || !strings.Contains(out, "0 received") {
			t.Errorf("-I lo: exit %d, want 1 (no reply):\n%s", code, out)
		}
		code, out, _ = inSource("ping", "-c", "1", "-W", "1", "-I", "10.201.1.1", c.Dest4().String())
		if code != ExitOK {
			t.Errorf("-I by address: exit %d:\n%s", code, out)
		}
	})
	t.Run("tbf rate limit shows loss", func(t *testing.T) {
		if err := c.Exec(c.Router(1), "tc", "qdisc", "add", "dev", "east", "root", "tbf", "rate", "64kbit", "burst", "1600", "limit", "1600"); err != nil {
			t.Skipf("tbf not available: %v", err)
		}
		_, out, _ := inSource("ping", "-q", "-c", "30", "-s", "1000", "-i", "0.002", "-W", "0.5", c.Dest4().String())
		m := regexp.MustCompile(`30 packets transmitted, (\d+) received, ([\d.]+)% packet loss`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" || m[1] == "30" {
			t.Errorf("want partial loss in the summary:\n%s", out)
		}
	})
}
