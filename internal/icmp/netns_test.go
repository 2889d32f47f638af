//go:build linux

package icmp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/netnstest"
)

// TestRoutedPath runs ping and traceroute from the source of a real routed
// chain: source → r1 → r2 → r3 → destination, in network namespaces.
func TestRoutedPath(t *testing.T) {
	c := netnstest.NewChain(t, 3)
	inSource := func(t *testing.T, fn func() error) {
		t.Helper()
		if err := netnstest.Do(c.Source(), fn); err != nil {
			t.Fatal(err)
		}
	}
	families := []struct {
		name string
		hops []netip.Addr
	}{{"v4", c.Hops4}, {"v6", c.Hops6}}

	// First, while r1 has sent no ICMP to the source: Linux's per-source
	// budget for unreachables (net.ipv4.route.error_burst) shares its tokens
	// with the ICMP rate limit, which icmp_ratelimit=0 drains to zero.
	for _, u := range []struct{ name, dst string }{{"v4", "10.201.99.1"}, {"v6", "fd00:201:99::1"}} {
		name, dst := u.name, netip.MustParseAddr(u.dst)
		t.Run("traceroute "+name+" unroutable shows !N", func(t *testing.T) {
			var res TraceResult
			inSource(t, func() (err error) {
				res, err = Trace(context.Background(), TraceConfig{Target: dst, Protocol: TraceICMP, Wait: 2 * time.Second, InFlight: 3})
				return err
			})
			if len(res.Hops) != 1 || res.Reached {
				t.Fatalf("result %+v", res)
			}
			want := c.Hops4[0]
			if name == "v6" {
				want = c.Hops6[0]
			}
			// Linux also rate-limits unreachables per source with a host-wide
			// budget (net.ipv4.route.error_burst, not per namespace), so some
			// probes may go unanswered; every answer must be r1's !N.
			answered := 0
			for _, p := range res.Hops[0].Probes {
				if !p.Answered {
					continue
				}
				answered++
				if p.From != want || p.Annotation != "!N" {
					t.Errorf("probe %+v", p)
				}
			}
			if answered == 0 {
				t.Errorf("no probe answered: %+v", res.Hops[0])
			}
		})
	}

	for _, fam := range families {
		for _, proto := range []TraceProtocol{TraceUDP, TraceICMP, TraceTCP} {
			t.Run("traceroute "+fam.name+" "+proto.String(), func(t *testing.T) {
				var res TraceResult
				inSource(t, func() (err error) {
					res, err = Trace(context.Background(), TraceConfig{Target: fam.hops[3], Protocol: proto, Wait: 2 * time.Second})
					return err
				})
				if !res.Reached {
					t.Errorf("destination not reached")
				}
				var got []netip.Addr
				for _, h := range res.Hops {
					for i, p := range h.Probes {
						if !p.Answered || p.From != h.Probes[0].From || p.Annotation != "" {
							t.Errorf("hop %d probe %d = %+v", h.TTL, i, p)
						}
					}
					got = append(got, h.Probes[0].From)
				}
				if !slices.Equal(got, fam.hops) {
					t.Errorf("hops %v, want %v", got, fam.hops)
				}
			})
		}

		t.Run("traceroute "+fam.name+" two flows", func(t *testing.T) {
			var res TraceResult
			inSource(t, func() (err error) {
				res, err = Trace(context.Background(), TraceConfig{Target: fam.hops[3], Flows: 2, Queries: 2, Wait: 2 * time.Second})
				return err
			})
			if len(res.Hops) != 4 {
				t.Fatalf("%d hops, want 4", len(res.Hops))
			}
			for _, h := range res.Hops {
				var flows []int
				for _, p := range h.Probes {
					if !p.Answered || p.From != fam.hops[h.TTL-1] {
						t.Errorf("hop %d: %+v", h.TTL, p)
					}
					flows = append(flows, p.Flow)
				}
				if !slices.Equal(flows, []int{0, 0, 1, 1}) {
					t.Errorf("hop %d flows %v", h.TTL, flows)
				}
			}
		})

		t.Run("traceroute "+fam.name+" with a resolver that takes 2 s", func(t *testing.T) {
			// One probe at a time, one per hop: were the lookups on the
			// probe path, each hop would wait 2 s for the last one's name.
			const delay = 2 * time.Second
			names := map[string]string{}
			for i, a := range fam.hops {
				names[ptrName(a)] = fmt.Sprintf("hop%d.test.", i+1)
			}
			srv := startSlowDNS(t, delay, names)
			cr := &countingResolve{r: resolverVia(srv)} // lookups run outside the namespace, where srv listens
			var res TraceResult
			inSource(t, func() (err error) {
				res, err = Trace(context.Background(), TraceConfig{
					Target: fam.hops[3], Protocol: TraceICMP, Queries: 1, InFlight: 1, Wait: 2 * time.Second,
					Resolve: cr.resolve, ResolveTimeout: 10 * time.Second,
				})
				return err
			})
			if res.Elapsed >= delay {
				t.Errorf("probing took %v: a lookup (%v) held it", res.Elapsed, delay)
			}
			if !res.Reached || len(res.Hops) != 4 {
				t.Fatalf("result %+v", res)
			}
			for i, h := range res.Hops {
				if p := h.Probes[0]; p.From != fam.hops[i] || p.Name != fmt.Sprintf("hop%d.test", i+1) {
					t.Errorf("hop %d: %+v", h.TTL, p)
				}
			}
		})

		t.Run("ping "+fam.name+" ttl 2 expires at r2", func(t *testing.T) {
			var events []PingEvent
			var res PingResult
			inSource(t, func() (err error) {
				res, err = Ping(context.Background(), PingConfig{
					Hosts: []netip.Addr{fam.hops[3]}, Count: 2, TTL: 2, Interval: 20 * time.Millisecond, Timeout: time.Second,
					OnEvent: func(e PingEvent) { events = append(events, e) },
				})
				return err
			})
			want := "Time to live exceeded"
			if fam.name == "v6" {
				want = "Time exceeded: Hop limit"
			}
			if len(events) != 2 {
				t.Fatalf("events %+v", events)
			}
			for i, e := range events {
				if e.Kind != PingError || e.From != fam.hops[1] || e.Message != want || e.Seq != i+1 {
					t.Errorf("event %+v", e)
				}
			}
			if h := res.Hosts[0]; h.Transmitted != 2 || h.Received != 0 || h.Errors != 2 {
				t.Errorf("result %+v", h)
			}
		})
	}

	t.Run("ping over datagram sockets", func(t *testing.T) {
		if err := c.Exec(c.Source(), "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"); err != nil {
			t.Fatal(err)
		}
		for _, dst := range []netip.Addr{c.Dest4(), c.Dest6()} {
			var res PingResult
			inSource(t, func() (err error) {
				res, err = Ping(context.Background(), PingConfig{Hosts: []netip.Addr{dst}, Count: 2, Interval: 20 * time.Millisecond, Timeout: time.Second, Socket: SocketDatagram})
				return err
			})
			if h := res.Hosts[0]; res.Raw || h.Received != 2 {
				t.Errorf("%s: raw=%v %+v", dst, res.Raw, h)
			}
			// Traceroute over the same unprivileged socket kind.
			var tr TraceResult
			inSource(t, func() (err error) {
				tr, err = Trace(context.Background(), TraceConfig{Target: dst, Protocol: TraceICMP, Socket: SocketDatagram, Wait: 2 * time.Second})
				return err
			})
			var got []netip.Addr
			for _, h := range tr.Hops {
				for _, p := range h.Probes {
					if !p.Answered || p.From != h.Probes[0].From {
						t.Errorf("datagram traceroute %s hop %d: %+v", dst, h.TTL, p)
					}
				}
				got = append(got, h.Probes[0].From)
			}
			if want := c.Hops4; dst.Is6() {
				if !slices.Equal(got, c.Hops6) || !tr.Reached {
					t.Errorf("datagram traceroute %s: hops %v", dst, got)
				}
			} else if !slices.Equal(got, want) || !tr.Reached {
				t.Errorf("datagram traceroute %s: hops %v", dst, got)
			}
			// Errors reach a ping socket through its error queue.
			var events []PingEvent
			inSource(t, func() (err error) {
				res, err = Ping(context.Background(), PingConfig{Hosts: []netip.Addr{dst}, Count: 2, TTL: 2, Interval: 20 * time.Millisecond, Timeout: time.Second, Socket: SocketDatagram,
					OnEvent: func(e PingEvent) { events = append(events, e) }})
				return err
			})
			hop2 := c.Hops4[1]
			if dst.Is6() {
				hop2 = c.Hops6[1]
			}
			if h := res.Hosts[0]; h.Errors != 2 || len(events) != 2 || events[0].From != hop2 || events[1].Seq != 2 || !strings.HasPrefix(events[0].Message, "Time") {
				t.Errorf("%s ttl 2: %+v %+v", dst, h, events)
			}
		}
	})

	// Last: it slows the r1 → r2 link to a trickle.
	t.Run("tbf rate limit shows loss", func(t *testing.T) {
		if err := netnstest.IP("-n", c.Router(1), "link", "set", "east", "mtu", "1500"); err != nil {
			t.Fatal(err)
		}
		if err := c.Exec(c.Router(1), "tc", "qdisc", "add", "dev", "east", "root", "tbf", "rate", "64kbit", "burst", "1600", "limit", "1600"); err != nil {
			t.Skipf("tbf not available: %v", err)
		}
		var res PingResult
		inSource(t, func() (err error) {
			res, err = Ping(context.Background(), PingConfig{
				Hosts: []netip.Addr{c.Dest4()}, Count: 40, Size: 1000, Interval: 2 * time.Millisecond, Timeout: 500 * time.Millisecond,
			})
			return err
		})
		h := res.Hosts[0]
		if h.Transmitted != 40 || h.Received == 0 || h.Received >= 40 || h.LossPercent() <= 0 {
			t.Errorf("want partial loss through the tbf: %+v", h)
		}
		if strings.Contains(h.Host.String(), ":") {
			t.Errorf("host %s", h.Host)
		}
	})
}

// ptrName is addr's reverse DNS name (RFC 1035 §3.5, RFC 3596 §2.5).
func ptrName(addr netip.Addr) string {
	var b strings.Builder
	if addr.Is4() {
		a := addr.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.in-addr.arpa.", a[3], a[2], a[1], a[0])
		return b.String()
	}
	a := addr.As16()
	for i := len(a) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", a[i]&0xf, a[i]>>4)
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}
