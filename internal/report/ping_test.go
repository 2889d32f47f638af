package report

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/icmp/icmpresult"
	"github.com/socklab/socklab/internal/stats"
)

func TestFormatPingEvent(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	tests := []struct {
		name   string
		ev     icmpresult.PingEvent
		stamps bool
		want   string
	}{
		{"reply", icmpresult.PingEvent{Bytes: 64, From: netip.MustParseAddr("127.0.0.1"), Seq: 1, TTL: 64, RTT: 45 * time.Microsecond}, false,
			"64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms"},
		{"duplicate", icmpresult.PingEvent{Bytes: 64, From: netip.MustParseAddr("::1"), Seq: 7, TTL: 64, RTT: 1234567 * time.Nanosecond, Dup: true}, false,
			"64 bytes from ::1: icmp_seq=7 ttl=64 time=1.23 ms (DUP!)"},
		{"slow reply with timestamp", icmpresult.PingEvent{Bytes: 64, From: netip.MustParseAddr("10.0.0.1"), Seq: 2, TTL: 60, RTT: 123456 * time.Microsecond, At: at}, true,
			"[1700000000.123456] 64 bytes from 10.0.0.1: icmp_seq=2 ttl=60 time=123 ms"},
		{"ttl exceeded", icmpresult.PingEvent{Kind: icmpresult.PingError, From: netip.MustParseAddr("10.201.2.2"), Seq: 3, Message: "Time to live exceeded"}, false,
			"From 10.201.2.2 icmp_seq=3 Time to live exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatPingEvent(tt.ev, tt.stamps); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFormatReplyTime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Microsecond:     "0.045",
		1500 * time.Microsecond:   "1.50",
		12345 * time.Microsecond:  "12.3",
		234567 * time.Microsecond: "234",
	} {
		if got := formatReplyTime(d); got != want {
			t.Errorf("%v: got %q, want %q", d, got, want)
		}
	}
}

func TestPingSummary(t *testing.T) {
	var rtt stats.Summary
	for _, ms := range []float64{0.031, 0.045, 0.061} {
		rtt.Add(ms)
	}
	tests := []struct {
		name string
		h    icmpresult.HostResult
		want string
	}{
		{"all answered", icmpresult.HostResult{Transmitted: 3, Received: 3, RTT: rtt, Elapsed: 2003 * time.Millisecond},
			"\n--- h ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2003ms\nrtt min/avg/max/mdev = 0.031/0.045/0.061/0.012 ms\n"},
		{"errors only", icmpresult.HostResult{Transmitted: 3, Errors: 3, Elapsed: 2 * time.Second},
			"\n--- h ping statistics ---\n3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms\n"},
		{"third lost, one duplicate", icmpresult.HostResult{Transmitted: 3, Received: 2, Duplicates: 1, RTT: rtt, Elapsed: time.Second},
			"\n--- h ping statistics ---\n3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, time 1000ms\nrtt min/avg/max/mdev = 0.031/0.045/0.061/0.012 ms\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			WritePingSummary(&b, "h", tt.h)
			if b.String() != tt.want {
				t.Errorf("got  %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}
