package monitor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/stats"
)

// probeICMP sends one echo request per interval through internal/icmp's
// pinger (a one-request round each time, so a round that waits for its
// reply does not delay the next). Sockets it may not open (no raw socket,
// ping_group_range excluding us) are reported as errors, not as loss.
func (m *Monitor) probeICMP(ctx context.Context, t Target, st *probeState) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex // orders the jitter updates
		jitter stats.Jitter
		warned atomic.Bool
	)
	every(ctx, m.cfg.Interval, func(now time.Time) {
		addr, err := resolveHost(ctx, t.Addr)
		if err != nil {
			st.onError("resolve", err)
			return
		}
		wg.Go(func() {
			sent := false
			res, err := icmp.Ping(ctx, icmp.PingConfig{
				Hosts: []netip.Addr{addr}, Count: 1, Timeout: m.cfg.Timeout, Socket: m.cfg.ICMPSocket,
				OnStart: func() { sent = true; st.onSent(now) },
				OnEvent: func(ev icmp.PingEvent) {
					if ev.Kind == icmp.PingReply && ev.Dup {
						st.onDuplicate()
					}
				},
			})
			if err != nil || !sent {
				st.onError("socket", err)
				if !warned.Swap(true) {
					m.log.Warn("monitor: cannot send ICMP echo (needs CAP_NET_RAW or net.ipv4.ping_group_range)", "target", t.Name, "err", err)
				}
				return
			}
			if ctx.Err() != nil && (len(res.Hosts) == 0 || res.Hosts[0].Received == 0) {
				return // stopped while waiting: neither answered nor lost
			}
			if len(res.Hosts) == 0 || res.Hosts[0].Received == 0 {
				st.onLost(now)
				return
			}
			rtt := time.Duration(res.Hosts[0].RTT.Min() * float64(time.Millisecond))
			st.onReply(now, rtt)
			mu.Lock()
			jitter.Add(0, int64(rtt))
			j := jitter.Value()
			mu.Unlock()
			st.onJitterRoundTrip(j)
		})
	})
	wg.Wait()
}

// resolveHost parses an IP literal, or looks a name up (the user named it).
func resolveHost(ctx context.Context, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, errors.New("no address")
	}
	return addrs[0], nil
}
