package monitor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		addr string
		err  string
	}{
		{"udp://127.0.0.1:9000", KindUDP, "127.0.0.1:9000", ""},
		{"udp://[::1]:9000", KindUDP, "[::1]:9000", ""},
		{"icmp://127.0.0.1", KindICMP, "127.0.0.1", ""},
		{"icmp://[::1]", KindICMP, "::1", ""},
		{"icmp://::1", KindICMP, "::1", ""},
		{"http://127.0.0.1:8000/x?y=1", KindHTTP, "http://127.0.0.1:8000/x?y=1", ""},
		{"HTTPS://127.0.0.1/", KindHTTP, "https://127.0.0.1/", ""},
		{"udp://127.0.0.1", "", "", "want udp://host:port"},
		{"udp://127.0.0.1:0", "", "", "not 1-65535"},
		{"udp://127.0.0.1:9000/x", "", "", "want udp://host:port"},
		{"icmp://127.0.0.1:7", "", "", "without port"},
		{"icmp://", "", "", "without port"},
		{"http://", "", "", "http(s)://host"},
		{"http://u:p@127.0.0.1/", "", "", "http(s)://host"},
		{"tcp://127.0.0.1:1", "", "", "scheme \"tcp\""},
		{"127.0.0.1:9000", "", "", "want udp://"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.err != "" {
				if err == nil || !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %+v, %v; want ErrBadTarget with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got.Kind != tt.kind || got.Addr != tt.addr || got.Name != tt.in {
				t.Fatalf("got %+v, %v; want %s %s", got, err, tt.kind, tt.addr)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	in := "# paths to watch\nudp://127.0.0.1:9000\n\n  icmp://127.0.0.1   # loopback\nudp://127.0.0.1:9000\n"
	ts, err := ParseTargets(strings.NewReader(in))
	if err != nil || len(ts) != 2 || ts[0].Kind != KindUDP || ts[1].Addr != "127.0.0.1" {
		t.Fatalf("got %+v, %v", ts, err)
	}
	if _, err := ParseTargets(strings.NewReader("udp://127.0.0.1:9000\nbogus\n")); err == nil || !strings.HasPrefix(err.Error(), "line 2:") {
		t.Fatalf("got %v, want an error naming line 2", err)
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"udp://127.0.0.1:9000", "icmp://[::1]", "https://127.0.0.1/a", "udp://:", "icmp://a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.Addr == "" || (tg.Kind != KindUDP && tg.Kind != KindICMP && tg.Kind != KindHTTP) {
			t.Fatalf("%q parsed to %+v", s, tg)
		}
		if again, err := ParseTarget(tg.Name); err != nil || again != tg {
			t.Fatalf("%q: name does not parse to itself: %+v, %v", s, again, err)
		}
	})
}

func TestHistory(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	h := newHistory(time.Minute, 10*time.Second) // 6 buckets
	h.sent(t0)
	h.reply(t0, 2*time.Millisecond)
	h.sent(t0.Add(5 * time.Second))
	h.lost(t0.Add(5 * time.Second))
	h.sent(t0.Add(25 * time.Second)) // skips a bucket
	h.reply(t0.Add(25*time.Second), 4*time.Millisecond)
	h.lost(t0.Add(-time.Hour)) // older than the ring: dropped

	w := h.window(t0.Add(30 * time.Second))
	if len(w) != 6 || !w[5].Start.Equal(t0.Add(30*time.Second)) || !w[0].Start.Equal(t0.Add(-20*time.Second)) {
		t.Fatalf("window starts %v … %v", w[0].Start, w[5].Start)
	}
	first, gap, third := w[2], w[3], w[4]
	if first.Sent != 2 || first.Received != 1 || first.Lost != 1 || first.RTT.Mean() != 2e6 {
		t.Errorf("first bucket %+v", first)
	}
	if gap.Sent != 0 || !gap.Start.Equal(t0.Add(10*time.Second)) {
		t.Errorf("gap bucket %+v", gap)
	}
	if third.Sent != 1 || third.RTT.Mean() != 4e6 {
		t.Errorf("third bucket %+v", third)
	}
	// Two minutes later everything has scrolled out.
	h.sent(t0.Add(3 * time.Minute))
	for _, b := range h.window(t0.Add(3 * time.Minute))[:5] {
		if b.Sent != 0 {
			t.Fatalf("stale bucket kept: %+v", b)
		}
	}
}

func TestLossSplit(t *testing.T) {
	type step struct {
		lost             []uint64
		reply            bool
		seq, count       uint64
		wantUp, wantDown int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		// Probe 1 never reached the reflector: the reply to 2 says the
		// reflector has seen 2 of 0..2.
		{"up", []step{{lost: []uint64{1}}, {reply: true, seq: 2, count: 2, wantUp: 1}}},
		// Probe 1 reached it (count 3 at seq 2): lost on the way back.
		{"down", []step{{lost: []uint64{1}}, {reply: true, seq: 2, count: 3, wantDown: 1}}},
		// Nothing comes back: undecided until a reply covers it.
		{"undecided", []step{{lost: []uint64{0, 1, 2}}, {reply: true, seq: 1, count: 1, wantUp: 1}, {reply: true, seq: 5, count: 4, wantUp: 1, wantDown: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l lossSplit
			for i, s := range tt.steps {
				for _, q := range s.lost {
					l.lost(q)
				}
				if s.reply {
					l.reply(s.seq, s.count)
				}
				up, down := l.resolve(100)
				if up != s.wantUp || down != s.wantDown {
					t.Fatalf("step %d: up %d down %d, want %d %d", i, up, down, s.wantUp, s.wantDown)
				}
			}
		})
	}
	var l lossSplit
	for q := range uint64(5) {
		l.lost(q)
	}
	if up, down := l.resolve(2); up != 3 || down != 0 || len(l.undecided) != 2 {
		t.Fatalf("over the limit: up %d down %d, %d left", up, down, len(l.undecided))
	}
}
