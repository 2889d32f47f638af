//go:build linux

package icmp

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestTraceLoopback traces 127.0.0.1 and ::1 with every probe kind: one hop,
// the destination itself, reached.
func TestTraceLoopback(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "::1"} {
		for _, proto := range []TraceProtocol{TraceUDP, TraceICMP, TraceTCP} {
			t.Run(host+" "+proto.String(), func(t *testing.T) {
				dst := netip.MustParseAddr(host)
				listenOrSkip(t, SocketRaw, dst.Is6())
				var hops []Hop
				// WaitHere and WaitNear off: the kernel-stamped round trip is
				// microseconds, so the shortened wait would be its 100 ms
				// floor, which a loaded machine's reader can miss.
				res, err := Trace(context.Background(), TraceConfig{
					Target: dst, Protocol: proto, Wait: 2 * time.Second, WaitHere: -1, WaitNear: -1, MaxTTL: 5,
					OnHop: func(h Hop) { hops = append(hops, h) },
				})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Reached || len(res.Hops) != 1 || len(hops) != 1 {
					t.Fatalf("result = %+v", res)
				}
				for i, p := range hops[0].Probes {
					if !p.Answered || p.From != dst || !p.Reached || p.RTT <= 0 || p.Annotation != "" {
						t.Errorf("probe %d = %+v", i, p)
					}
				}
			})
		}
	}
}
