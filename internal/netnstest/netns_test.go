//go:build linux

package netnstest

import (
	"net"
	"strings"
	"testing"
)

func TestChainRoutesEndToEnd(t *testing.T) {
	c := NewChain(t, 3)
	if len(c.Nodes) != 5 || len(c.Hops4) != 4 || len(c.Hops6) != 4 {
		t.Fatalf("chain = %+v", c)
	}
	// The destination answers from the source, over three routers, in both
	// families (ping(8) is not needed: a UDP round trip through the chain).
	for _, dst := range []string{c.Dest4().String(), c.Dest6().String()} {
		t.Run(dst, func(t *testing.T) {
			var got string
			err := Do(c.Nodes[len(c.Nodes)-1], func() error {
				pc, err := net.ListenPacket("udp", net.JoinHostPort(dst, "7"))
				if err != nil {
					return err
				}
				defer pc.Close()
				return Do(c.Source(), func() error {
					conn, err := net.Dial("udp", net.JoinHostPort(dst, "7"))
					if err != nil {
						return err
					}
					defer conn.Close()
					if _, err := conn.Write([]byte("through the chain")); err != nil {
						return err
					}
					buf := make([]byte, 64)
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return err
					}
					got = string(buf[:n]) + " from " + from.(*net.UDPAddr).IP.String()
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			src := c.Source4.String()
			if strings.Contains(dst, ":") {
				src = c.Source6.String()
			}
			if got != "through the chain from "+src {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestChainIsRemoved(t *testing.T) {
	var names []string
	t.Run("build", func(t *testing.T) {
		c := NewChain(t, 1)
		names = c.Nodes
	})
	if len(names) == 0 {
		t.Skip("chain was not built")
	}
	for _, n := range names {
		if err := IP("netns", "pids", n); err == nil {
			t.Errorf("namespace %s still exists after the test", n)
		}
	}
}

func TestStaleChainsAreSwept(t *testing.T) {
	SkipUnlessRoot(t)
	// A pid that cannot be running: above the kernel's pid_max limit.
	name := "sl4194305r00beef-0"
	if err := IP("netns", "add", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = IP("netns", "del", name) })
	NewChain(t, 1)
	if err := IP("netns", "pids", name); err == nil {
		t.Errorf("stale namespace %s survived a new chain", name)
	}
}
