//go:build linux

package icmp

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenOrSkip opens the kind of socket a loopback test wants, skipping with
// the reason when this machine does not allow it.
func listenOrSkip(t *testing.T, mode SocketMode, v6 bool) {
	t.Helper()
	c, err := Listen(ListenConfig{Mode: mode, V6: v6})
	if err != nil {
		switch {
		case mode == SocketRaw && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)):
			t.Skip("needs root or CAP_NET_RAW for raw ICMP sockets")
		case mode == SocketDatagram && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)):
			t.Skipf("ICMP datagram sockets not permitted for gid %d: widen net.ipv4.ping_group_range", os.Getgid())
		case errors.Is(err, unix.EAFNOSUPPORT):
			t.Skip("no IPv6 on this machine")
		}
		t.Fatal(err)
	}
	c.Close()
}

func TestPingLoopback(t *testing.T) {
	tests := []struct {
		name string
		mode SocketMode
		host string
	}{
		{"raw v4", SocketRaw, "127.0.0.1"},
		{"raw v6", SocketRaw, "::1"},
		{"datagram v4", SocketDatagram, "127.0.0.1"},
		{"datagram v6", SocketDatagram, "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := netip.MustParseAddr(tt.host)
			listenOrSkip(t, tt.mode, host.Is6())
			var mu sync.Mutex
			var events []PingEvent
			res, err := Ping(context.Background(), PingConfig{
				Hosts: []netip.Addr{host}, Count: 3, Interval: 10 * time.Millisecond,
				Timeout: 2 * time.Second, Socket: tt.mode,
				OnEvent: func(e PingEvent) { mu.Lock(); events = append(events, e); mu.Unlock() },
			})
			if err != nil {
				t.Fatal(err)
			}
			h := res.Hosts[0]
			if h.Transmitted != 3 || h.Received != 3 || h.Duplicates != 0 || h.Errors != 0 {
				t.Fatalf("result = %+v", h)
			}
			if res.Raw != (tt.mode == SocketRaw) {
				t.Errorf("Raw = %v", res.Raw)
			}
			if len(events) != 3 {
				t.Fatalf("%d events, want 3", len(events))
			}
			for i, e := range events {
				if e.Kind != PingReply || e.Seq != i+1 || e.From != host || e.Bytes != 64 || e.TTL <= 0 || e.RTT <= 0 {
					t.Errorf("event %d = %+v", i, e)
				}
			}
			if h.RTT.N() != 3 || h.RTT.Min() <= 0 || h.RTT.Max() < h.RTT.Min() {
				t.Errorf("rtt summary n=%d min=%v max=%v", h.RTT.N(), h.RTT.Min(), h.RTT.Max())
			}
		})
	}
}

// TestPingSeveralHostsShareSockets pings three loopback hosts, two of them
// IPv4, in one run: two sockets, every reply credited to the right host.
func TestPingSeveralHostsShareSockets(t *testing.T) {
	listenOrSkip(t, SocketRaw, false)
	listenOrSkip(t, SocketRaw, true)
	var opened int
	var mu sync.Mutex
	listen := func(c ListenConfig) (Conn, error) { mu.Lock(); opened++; mu.Unlock(); return Listen(c) }
	hosts := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.2")}
	res, err := Ping(context.Background(), PingConfig{Hosts: hosts, Count: 2, Interval: 10 * time.Millisecond, Timeout: 2 * time.Second, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	if opened != 2 {
		t.Errorf("opened %d sockets, want 2", opened)
	}
	for i, h := range res.Hosts {
		if h.Transmitted != 2 || h.Received != 2 {
			t.Errorf("host %d (%s) = %+v", i, h.Host, h)
		}
	}
}
