//go:build linux

// Package netnstest builds throwaway network topologies for tests that need a
// real routed path: a chain of Linux network namespaces (source, routers,
// destination) joined by veth pairs, and a way to run code or commands inside
// one of them. Everything it creates is removed when the test ends, even when
// it fails; names are unique per run so parallel or aborted runs never
// collide. It needs root and the ip(8) command.
//
// The addresses (10.201.0.0/16 and fd00:201::/32) exist only inside these
// namespaces.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Chain is source → routers... → destination. Link i (1-based) joins node
// i-1 and node i; on it the node nearer the source has 10.201.i.1 and
// fd00:201:i::1, the other 10.201.i.2 and fd00:201:i::2. Routers know routes
// to every link of the chain and nothing else, so any other destination is
// unroutable (ICMP net unreachable) at the first router.
type Chain struct {
	// Nodes are the namespace names: Nodes[0] the source, Nodes[len-1] the
	// destination, routers in between.
	Nodes []string
	// Hops4 and Hops6 are the addresses a traceroute from the source shows:
	// each router's source-facing address, then the destination's.
	Hops4, Hops6 []netip.Addr
	// Source4 and Source6 are the source's addresses.
	Source4, Source6 netip.Addr
}

// Source is the source namespace's name.
func (c *Chain) Source() string { return c.Nodes[0] }

// Dest4 is the destination's IPv4 address.
func (c *Chain) Dest4() netip.Addr { return c.Hops4[len(c.Hops4)-1] }

// Dest6 is the destination's IPv6 address.
func (c *Chain) Dest6() netip.Addr { return c.Hops6[len(c.Hops6)-1] }

// Router is the name of router i (1-based).
func (c *Chain) Router(i int) string { return c.Nodes[i] }

// SkipUnlessRoot skips t unless it runs as root with ip(8) available.
func SkipUnlessRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: builds network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip(8) from iproute2")
	}
}

// NewChain builds a chain with the given number of routers (at least 1),
// or skips t when not root. Cleanup is registered with t.Cleanup.
func NewChain(t testing.TB, routers int) *Chain {
	t.Helper()
	SkipUnlessRoot(t)
	if routers < 1 || routers > 200 {
		t.Fatalf("netns: %d routers: want 1 to 200", routers)
	}
	sweepStale()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	// The pid in the name lets a later run remove what a killed run left.
	prefix := fmt.Sprintf("sl%dr%s", os.Getpid(), hex.EncodeToString(rnd[:]))
	c := &Chain{}
	for i := range routers + 2 {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if err := ip("netns", "add", name); err != nil {
			t.Fatalf("netns: %v", err)
		}
		t.Cleanup(func() { _ = ip("netns", "del", name) })
		c.Nodes = append(c.Nodes, name)
	}
	for _, phase := range []func() error{c.tuneNodes, c.linkNodes, c.pinNeighbours, c.addRoutes} {
		if err := phase(); err != nil {
			t.Fatalf("netns: %v", err)
		}
	}
	return c
}

// tuneNodes sets every namespace's sysctls (forwarding on the routers) and
// brings its loopback up.
func (c *Chain) tuneNodes() error {
	n := len(c.Nodes)
	for i, name := range c.Nodes {
		router := i > 0 && i < n-1
		// No ICMP rate limits, per destination or per namespace (fast
		// probes would turn into "*"), and no
		// duplicate address detection: a tentative link-local address holds
		// neighbour discovery back for a second or more.
		sysctls := []string{"net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0",
			"net.ipv4.icmp_msgs_per_sec=1000000", "net.ipv4.icmp_msgs_burst=100000",
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"}
		if router {
			sysctls = append(sysctls, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
		}
		if err := c.Exec(name, append([]string{"sysctl", "-q", "-w"}, sysctls...)...); err != nil {
			return err
		}
		if err := ip("-n", name, "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	return nil
}

// linkNodes joins each pair of neighbours with a veth pair ("east" on the
// west node, "west" on the east node), addresses both ends and records the
// hops and the source's addresses.
func (c *Chain) linkNodes() error {
	for link := 1; link < len(c.Nodes); link++ {
		west, east := c.Nodes[link-1], c.Nodes[link]
		cmds := [][]string{
			{"-n", west, "link", "add", "east", "type", "veth", "peer", "name", "west", "netns", east},
			{"-n", west, "addr", "add", fmt.Sprintf("10.201.%d.1/24", link), "dev", "east"},
			{"-n", east, "addr", "add", fmt.Sprintf("10.201.%d.2/24", link), "dev", "west"},
			{"-n", west, "addr", "add", fmt.Sprintf("fd00:201:%d::1/64", link), "dev", "east", "nodad"},
			{"-n", east, "addr", "add", fmt.Sprintf("fd00:201:%d::2/64", link), "dev", "west", "nodad"},
			{"-n", west, "link", "set", "east", "up"},
			{"-n", east, "link", "set", "west", "up"},
		}
		for _, args := range cmds {
			if err := ip(args...); err != nil {
				return err
			}
		}
		c.Hops4 = append(c.Hops4, netip.MustParseAddr(fmt.Sprintf("10.201.%d.2", link)))
		c.Hops6 = append(c.Hops6, netip.MustParseAddr(fmt.Sprintf("fd00:201:%d::2", link)))
	}
	c.Source4 = netip.MustParseAddr("10.201.1.1")
	c.Source6 = netip.MustParseAddr("fd00:201:1::1")
	return nil
}

// pinNeighbours adds static neighbour entries on every link: no ARP or
// neighbour discovery on the first packet (IPv6's first exchange over a
// fresh veth otherwise takes a second), so timings are the path's own from
// the first probe.
func (c *Chain) pinNeighbours() error {
	for link := 1; link < len(c.Nodes); link++ {
		west, east := c.Nodes[link-1], c.Nodes[link]
		westMAC, err := mac(west, "east")
		if err != nil {
			return err
		}
		eastMAC, err := mac(east, "west")
		if err != nil {
			return err
		}
		for _, args := range [][]string{
			{"-n", west, "neigh", "replace", fmt.Sprintf("10.201.%d.2", link), "lladdr", eastMAC, "dev", "east", "nud", "permanent"},
			{"-n", west, "neigh", "replace", fmt.Sprintf("fd00:201:%d::2", link), "lladdr", eastMAC, "dev", "east", "nud", "permanent"},
			{"-n", east, "neigh", "replace", fmt.Sprintf("10.201.%d.1", link), "lladdr", westMAC, "dev", "west", "nud", "permanent"},
			{"-n", east, "neigh", "replace", fmt.Sprintf("fd00:201:%d::1", link), "lladdr", westMAC, "dev", "west", "nud", "permanent"},
		} {
			if err := ip(args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// addRoutes gives the ends default routes and each router one route per
// link it is not on.
func (c *Chain) addRoutes() error {
	n := len(c.Nodes)
	routes := [][]string{
		{"-n", c.Nodes[0], "route", "add", "default", "via", "10.201.1.2"},
		{"-n", c.Nodes[0], "-6", "route", "add", "default", "via", "fd00:201:1::2"},
		{"-n", c.Nodes[n-1], "route", "add", "default", "via", fmt.Sprintf("10.201.%d.1", n-1)},
		{"-n", c.Nodes[n-1], "-6", "route", "add", "default", "via", fmt.Sprintf("fd00:201:%d::1", n-1)},
	}
	for r := 1; r < n-1; r++ {
		for link := 1; link < n; link++ {
			var via4, via6 string
			switch {
			case link < r: // behind the west neighbour
				via4, via6 = fmt.Sprintf("10.201.%d.1", r), fmt.Sprintf("fd00:201:%d::1", r)
			case link > r+1: // behind the east neighbour
				via4, via6 = fmt.Sprintf("10.201.%d.2", r+1), fmt.Sprintf("fd00:201:%d::2", r+1)
			default:
				continue
			}
			routes = append(routes,
				[]string{"-n", c.Nodes[r], "route", "add", fmt.Sprintf("10.201.%d.0/24", link), "via", via4},
				[]string{"-n", c.Nodes[r], "-6", "route", "add", fmt.Sprintf("fd00:201:%d::/64", link), "via", via6})
		}
	}
	for _, args := range routes {
		if err := ip(args...); err != nil {
			return err
		}
	}
	return nil
}

var staleName = regexp.MustCompile(`^sl(\d+)r[0-9a-f]{6}-\d+$`)

// sweepStale deletes chains whose creating process is gone (a test binary
// killed before its cleanup ran). Chains of live processes are left alone.
func sweepStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		m := staleName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			_ = ip("netns", "del", e.Name())
		}
	}
}

func ip(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// mac is the hardware address of interface dev in namespace ns.
func mac(ns, dev string) (string, error) {
	out, err := exec.Command("ip", "-n", ns, "-br", "link", "show", "dev", dev).Output()
	if err != nil {
		return "", fmt.Errorf("ip -n %s link show dev %s: %w", ns, dev, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return "", fmt.Errorf("ip -n %s link show dev %s: unexpected %q", ns, dev, out)
	}
	return f[2], nil
}

// IP runs ip(8) with args (use "-n", name to act inside a namespace).
func IP(args ...string) error { return ip(args...) }

// Exec runs a command inside namespace ns and returns its combined output in
// the error when it fails.
func (c *Chain) Exec(ns string, args ...string) error {
	_, err := c.Output(ns, args...)
	return err
}

// Output runs a command inside namespace ns and returns its stdout.
func (c *Chain) Output(ns string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := c.Command(ctx, ns, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("in %s: %s: %w: %s", ns, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Command returns a command that runs inside namespace ns.
func (c *Chain) Command(ctx context.Context, ns string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// Do runs fn on an OS thread that has joined namespace ns. Sockets fn opens
// before starting goroutines belong to ns for their whole life, so an engine
// whose Run opens its sockets first works unchanged. The thread is discarded
// if it cannot be moved back.
func Do(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns: open own namespace: %w", err)
			return // the thread stays locked and dies with this goroutine
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netns: open %s: %w", ns, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: enter %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}
