package monitor

import (
	"testing"
	"time"

	"github.com/socklab/socklab/internal/icmp"
)

// TestICMPLoopback pings 127.0.0.1 through the monitor when this process
// may open an ICMP socket (root, CAP_NET_RAW or ping_group_range).
func TestICMPLoopback(t *testing.T) {
	c, err := icmp.Listen(icmp.ListenConfig{Mode: icmp.SocketAuto})
	if err != nil {
		t.Skipf("no ICMP socket here (needs root, CAP_NET_RAW or net.ipv4.ping_group_range): %v", err)
	}
	c.Close()
	tg := "icmp://127.0.0.1"
	m, get := startMonitor(t, Config{Interval: 20 * time.Millisecond, Timeout: time.Second}, tg)
	waitFor(t, 10*time.Second, "5 echo replies", func() bool { return status(m, tg).Received >= 5 })
	fams := get()
	if n := value(fams, MetricRTT, map[string]string{"target": tg}); n < 5 {
		t.Errorf("rtt histogram holds %v samples", n)
	}
	if v := value(fams, MetricJitter, map[string]string{"target": tg, "direction": "round_trip"}); v < 0 {
		t.Error("no round-trip jitter series for an ICMP target")
	}
	if s := status(m, tg); s.Lost != 0 || s.LastError != "" {
		t.Errorf("loopback ping lost %d, error %q", s.Lost, s.LastError)
	}
}
