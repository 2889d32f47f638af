//go:build linux

package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/netnstest"
)

func TestTracerouteUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"traceroute", "-P", "sctp", "127.0.0.1"},
		{"traceroute", "-q", "0", "127.0.0.1"},
		{"traceroute", "-I", "-T", "127.0.0.1"},
		{"traceroute", "-f", "9", "-m", "3", "127.0.0.1"},
		{"traceroute", "-w", "0", "127.0.0.1"},
		{"traceroute", "-w", "5,3", "127.0.0.1"},
		{"traceroute", "-w", "5,x,10", "127.0.0.1"},
		{"traceroute"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, stderr := run(t, "", args...); code != ExitUsage || stderr == "" {
				t.Errorf("exit %d, stderr %q; want %d and a message", code, stderr, ExitUsage)
			}
		})
	}
}

// TestTracerouteRoutedPath runs "socklab traceroute" inside the source
// namespace of source → r1 → r2 → r3 → destination and checks the lines.
func TestTracerouteRoutedPath(t *testing.T) {
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
	// Before anything else makes r1 send ICMP to the source (see the icmp
	// package's TestRoutedPath for why).
	t.Run("unroutable shows !N", func(t *testing.T) {
		code, out, stderr := inSource("traceroute", "-n", "-N", "3", "-w", "2", "10.201.99.1")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		// At least one !N: Linux rate-limits unreachables host-wide, so a
		// probe may go unanswered ("*").
		if len(lines) != 2 || !strings.Contains(lines[1], " 10.201.1.2  ") || strings.Count(lines[1], "!N") == 0 || strings.Count(lines[1], "!N")+strings.Count(lines[1], "*") != 3 {
			t.Errorf("output:\n%s", out)
		}
	})
	for _, tc := range []struct {
		args []string
		hops []netip.Addr
	}{
		{[]string{"-P", "udp"}, c.Hops4},
		{[]string{"-P", "icmp"}, c.Hops4},
		{[]string{"-P", "tcp", "-p", "443"}, c.Hops4},
		{[]string{"-6", "-P", "udp"}, c.Hops6},
		{[]string{"-6", "-P", "tcp"}, c.Hops6},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			dst := tc.hops[len(tc.hops)-1]
			code, out, stderr := inSource(append(append([]string{"traceroute", "-n", "-w", "2"}, tc.args...), dst.String())...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 5 || !strings.HasPrefix(lines[0], "traceroute to "+dst.String()+" ("+dst.String()+"), 30 hops max, ") {
				t.Fatalf("output:\n%s", out)
			}
			for i, hop := range tc.hops {
				fields := strings.Fields(lines[i+1])
				if len(fields) != 8 || fields[0] != string(rune('1'+i)) || fields[1] != hop.String() || fields[3] != "ms" || fields[5] != "ms" || fields[7] != "ms" {
					t.Errorf("hop %d: %q, want %s with three times", i+1, lines[i+1], hop)
				}
			}
		})
	}
}

// TestTraceroutePortStepping: by default each UDP probe goes to the next
// port (traceroute 2.1); with --paris or -U all go to one. A socket held on
// -p + 1 catches exactly the second probe when the port steps, none when
// it does not.
func TestTraceroutePortStepping(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: traceroute reads ICMP errors on a raw socket")
	}
	for _, tt := range []struct {
		flags []string
		want  int // datagrams the socket on port+1 receives
	}{
		{nil, 1},
		{[]string{"--paris"}, 0},
		{[]string{"-U"}, 0},
	} {
		t.Run(fmt.Sprint(tt.flags), func(t *testing.T) {
			catcher, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer catcher.Close()
			base := catcher.LocalAddr().(*net.UDPAddr).Port - 1
			args := append([]string{"traceroute", "-n", "-q", "3", "-m", "1", "-w", "0.5", "-p", strconv.Itoa(base)}, tt.flags...)
			code, out, stderr := run(t, "", append(args, "127.0.0.1")...)
			if code != ExitOK && code != ExitFailure {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got := 0
			buf := make([]byte, 2048)
			for {
				_ = catcher.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, _, err := catcher.ReadFromUDP(buf); err != nil {
					break
				}
				got++
			}
			if got != tt.want {
				t.Fatalf("%v: the socket on port %d got %d probes, want %d\n%s", tt.flags, base+1, got, tt.want, out)
			}
		})
	}
}
