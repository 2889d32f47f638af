package qos

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/qoswire"
)

// action is what the test reflector does with one probe.
type action struct {
	dropUp   bool          // pretend the probe never arrived: no count, no reply
	dropDown bool          // count it, but send no reply
	dup      bool          // send the reply twice
	delay    time.Duration // send the reply this much later
	after    uint64        // if non-zero: hold the reply until the reply to this sequence number has gone
	dwell    time.Duration // stamp (and really spend) this long inside the reflector
}

// reflector is a tiny qoswire reflector for tests (the real one is
// internal/udpecho): it stamps probes with qoswire.Reflect and counts them
// per session, with scripted impairments.
type reflector struct {
	conn *net.UDPConn
	plan func(seq uint64) action
	wg   sync.WaitGroup
}

func startReflector(t *testing.T, plan func(seq uint64) action) string {
	t.Helper()
	return startReflectorOn(t, net.IPv4(127, 0, 0, 1), plan)
}

func startReflectorOn(t *testing.T, ip net.IP, plan func(seq uint64) action) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		if ip.To4() == nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		}
		t.Fatal(err)
	}
	if plan == nil {
		plan = func(uint64) action { return action{} }
	}
	r := &reflector{conn: c, plan: plan}
	r.wg.Add(1)
	go r.serve()
	t.Cleanup(func() { c.Close(); r.wg.Wait() })
	return c.LocalAddr().String()
}

func (r *reflector) serve() {
	defer r.wg.Done()
	counts := map[uint64]uint64{}
	held := map[uint64][][]byte{} // replies waiting for the reply to a later sequence number
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		recv := time.Now().UnixNano()
		h, err := qoswire.Parse(buf[:n])
		if err != nil {
			continue
		}
		if qoswire.IsReportRequest(buf[:n]) {
			// As socklab serve: what arrived of the session.
			pkt := append([]byte(nil), buf[:n]...)
			_ = qoswire.AnswerReport(pkt, qoswire.Report{Received: counts[h.Session]})
			r.conn.WriteToUDP(pkt, from)
			continue
		}
		a := r.plan(h.Seq)
		if a.dropUp {
			continue
		}
		counts[h.Session]++
		if a.dropDown {
			continue
		}
		if a.dwell > 0 {
			time.Sleep(a.dwell)
		}
		pkt := append([]byte(nil), buf[:n]...)
		if err := qoswire.Reflect(pkt, recv, time.Now().UnixNano(), counts[h.Session]); err != nil {
			continue
		}
		send := func() {
			r.conn.WriteToUDP(pkt, from)
			if a.dup {
				r.conn.WriteToUDP(pkt, from)
			}
		}
		if a.after != 0 {
			held[a.after] = append(held[a.after], pkt)
			continue
		}
		if a.delay > 0 {
			r.wg.Add(1)
			time.AfterFunc(a.delay, func() { defer r.wg.Done(); send() })
			continue
		}
		send()
		for _, p := range held[h.Seq] {
			r.conn.WriteToUDP(p, from)
		}
		delete(held, h.Seq)
	}
}

func TestRunLoopback(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		plan  func(seq uint64) action
		check func(t *testing.T, r *Result)
	}{
		{
			name: "clean",
			cfg:  Config{Count: 200, Interval: time.Millisecond},
			check: func(t *testing.T, r *Result) {
				tt := r.Total
				if tt.Sent != 200 || tt.Received != 200 || tt.Lost != 0 || tt.Duplicates != 0 || tt.Late != 0 {
					t.Fatalf("sent/recv/lost/dup/late = %d/%d/%d/%d/%d", tt.Sent, tt.Received, tt.Lost, tt.Duplicates, tt.Late)
				}
				if tt.RTT.N != 200 || tt.RTT.Min <= 0 || tt.RTT.Min > tt.RTT.P50 || tt.RTT.P50 > tt.RTT.Max {
					t.Fatalf("rtt %+v", tt.RTT)
				}
				if tt.IPDVUp.N == 0 || tt.Throughput.OfferedBps <= 0 || tt.Throughput.GoodputBps <= 0 {
					t.Fatalf("ipdv %+v throughput %+v", tt.IPDVUp, tt.Throughput)
				}
				if want := tt.Throughput.OfferedBps * 92 / 64; !approx(tt.Throughput.OfferedWireBps, want) {
					t.Fatalf("wire %v, want %v (28 B of IPv4+UDP per 64 B probe)", tt.Throughput.OfferedWireBps, want)
				}
				if len(r.Series) == 0 {
					t.Fatal("no series")
				}
			},
		},
		{
			name: "loss split up and down",
			cfg:  Config{Count: 200, Interval: 500 * time.Microsecond},
			plan: func(seq uint64) action { return action{dropUp: seq%10 == 0, dropDown: seq%10 == 5} },
			check: func(t *testing.T, r *Result) {
				tt := r.Total
				if tt.Sent != 200 || tt.Received != 160 || tt.Lost != 40 || tt.LostUp != 20 || tt.LostDown != 20 {
					t.Fatalf("sent/recv/lost/up/down = %d/%d/%d/%d/%d", tt.Sent, tt.Received, tt.Lost, tt.LostUp, tt.LostDown)
				}
				if tt.LossPct != 20 || tt.LossUpPct != 10 || tt.LossDownPct != 10 {
					t.Fatalf("loss %% = %v (up %v down %v)", tt.LossPct, tt.LossUpPct, tt.LossDownPct)
				}
			},
		},
		{
			name: "duplicates",
			cfg:  Config{Count: 100, Interval: 500 * time.Microsecond},
			plan: func(seq uint64) action { return action{dup: seq%25 == 3} },
			check: func(t *testing.T, r *Result) {
				if r.Total.Received != 100 || r.Total.Duplicates != 4 || r.Total.Lost != 0 {
					t.Fatalf("recv/dup/lost = %d/%d/%d", r.Total.Received, r.Total.Duplicates, r.Total.Lost)
				}
			},
		},
		{
			name: "reordered",
			cfg:  Config{Count: 100, Interval: time.Millisecond},
			// Seq 10's reply leaves after seq 13's.
			plan: func(seq uint64) action {
				if seq == 10 {
					return action{after: 13}
				}
				return action{}
			},
			check: func(t *testing.T, r *Result) {
				if r.Total.Received != 100 || r.Total.Reordered != 1 {
					t.Fatalf("recv/reordered = %d/%d", r.Total.Received, r.Total.Reordered)
				}
			},
		},
		{
			name: "late reply",
			// Seq 7's reply waits for the last probe's: its RTT is at least
			// 112 intervals (1.12s), beyond the 1s wait, while the run still
			// listens. The margins are wide: a loaded CI machine under
			// -race can stall a goroutine for 200ms.
			cfg: Config{Count: 120, Interval: 10 * time.Millisecond, Wait: time.Second},
			plan: func(seq uint64) action {
				if seq == 7 {
					return action{after: 119}
				}
				return action{}
			},
			check: func(t *testing.T, r *Result) {
				tt := r.Total
				if tt.Received != 119 || tt.Late != 1 || tt.Lost != 1 || tt.LostDown != 1 {
					t.Fatalf("recv/late/lost/down = %d/%d/%d/%d", tt.Received, tt.Late, tt.Lost, tt.LostDown)
				}
				if tt.RTT.Max >= time.Second {
					t.Fatalf("late reply's RTT %v got into the statistics", tt.RTT.Max)
				}
			},
		},
		{
			name: "reflector dwell is subtracted",
			cfg:  Config{Count: 6, Interval: 110 * time.Millisecond},
			plan: func(uint64) action { return action{dwell: 100 * time.Millisecond} },
			check: func(t *testing.T, r *Result) {
				// Every round trip took over 100ms; without the subtraction
				// the median could not be below that.
				if r.Total.Received != 6 || r.Total.RTT.P50 >= 60*time.Millisecond {
					t.Fatalf("recv %d, rtt p50 %v: dwell not subtracted", r.Total.Received, r.Total.RTT.P50)
				}
			},
		},
		{
			name: "streams",
			cfg:  Config{Count: 50, Interval: time.Millisecond, Streams: 3},
			check: func(t *testing.T, r *Result) {
				if len(r.Streams) != 3 || r.Total.Sent != 150 || r.Total.Received != 150 || r.RTT.Count() != 150 {
					t.Fatalf("streams %d, sent/recv %d/%d", len(r.Streams), r.Total.Sent, r.Total.Received)
				}
				seen := map[uint64]bool{}
				for i, s := range r.Streams {
					if s.Stream != i+1 || s.Sent != 50 || s.Received != 50 || seen[s.Session] {
						t.Fatalf("stream %+v", s)
					}
					seen[s.Session] = true
				}
			},
		},
		{
			name: "burst",
			cfg:  Config{Count: 500, Burst: true, Size: 1400},
			check: func(t *testing.T, r *Result) {
				if r.Total.Sent != 500 || r.Interval != 0 || r.Total.Received+r.Total.Lost != 500 {
					t.Fatalf("sent %d recv %d lost %d", r.Total.Sent, r.Total.Received, r.Total.Lost)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Target = startReflector(t, tt.plan)
			var mu sync.Mutex
			kinds := map[EventKind]int{}
			tt.cfg.OnEvent = func(e Event) { mu.Lock(); kinds[e.Kind]++; mu.Unlock() }
			r, err := Run(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
			if kinds[EventStart] != 1 || kinds[EventEnd] != 1 {
				t.Fatalf("events %v", kinds)
			}
		})
	}
}

func TestRunIPv6(t *testing.T) {
	target := startReflectorOn(t, net.IPv6loopback, nil)
	r, err := Run(context.Background(), Config{Target: target, Network: "udp6", Count: 20, Interval: time.Millisecond, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	tp := r.Total.Throughput
	if r.Total.Received != 20 || !approx(tp.OfferedWireBps, tp.OfferedBps*148/100) {
		t.Fatalf("received %d, wire %v for payload %v: want 48 B of IPv6+UDP per datagram", r.Total.Received, tp.OfferedWireBps, tp.OfferedBps)
	}
}

func approx(a, b float64) bool { return a > b*0.999999 && a < b*1.000001 }

func TestRunEvents(t *testing.T) {
	target := startReflector(t, nil)
	var mu sync.Mutex
	var ivs []Event
	var end *Result
	cfg := Config{Target: target, Count: 40, Interval: 5 * time.Millisecond, ReportInterval: 50 * time.Millisecond, Streams: 2,
		OnEvent: func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			switch e.Kind {
			case EventInterval:
				ivs = append(ivs, e)
			case EventEnd:
				end = e.Result
			}
		}}
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if end != r {
		t.Fatal("end event does not carry the result")
	}
	var sent, recv int64
	for _, e := range ivs {
		if len(e.Intervals) != 3 || e.Intervals[2].Stream != 0 {
			t.Fatalf("interval event with %d entries", len(e.Intervals))
		}
		sent += e.Intervals[2].Sent
		recv += e.Intervals[2].Received
	}
	// The intervals, the last partial one included, account for every probe.
	if sent != 80 || recv != 80 {
		t.Fatalf("intervals add up to sent %d recv %d, want 80/80", sent, recv)
	}
}

func TestRunCancelStillReports(t *testing.T) {
	target := startReflector(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	cfg := Config{Target: target, Count: 100000, Interval: time.Millisecond, OnEvent: func(e Event) {
		if e.Kind == EventProgress {
			if n++; n == 2 {
				cancel()
			}
		}
	}}
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Interrupted || r.Total.Sent == 0 || r.Total.Sent >= 100000 || r.Total.Received != r.Total.Sent {
		t.Fatalf("interrupted %v sent %d recv %d", r.Interrupted, r.Total.Sent, r.Total.Received)
	}
}

// A cancel during the straggler wait ends it: the schedule was complete,
// so the result is not marked interrupted.
func TestRunCancelDuringWait(t *testing.T) {
	target := startReflector(t, func(uint64) action { return action{dropUp: true} })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{Target: target, Count: 5, Interval: time.Millisecond, Wait: time.Hour, OnEvent: func(e Event) {
		if e.Kind == EventProgress && e.Fraction == 1 {
			cancel()
		}
	}}
	r, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Interrupted || r.Total.Sent != 5 || r.Total.Lost != 5 || r.Elapsed > time.Minute {
		t.Fatalf("interrupted %v sent %d lost %d elapsed %v", r.Interrupted, r.Total.Sent, r.Total.Lost, r.Elapsed)
	}
}

func TestRunNoReflector(t *testing.T) {
	// A bound socket that never answers: everything is lost, upstream.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ivLost int64
	var jitterKnown bool
	r, err := Run(context.Background(), Config{Target: c.LocalAddr().String(), Count: 5, Interval: time.Millisecond, Wait: 20 * time.Millisecond,
		OnEvent: func(e Event) {
			for _, iv := range e.Intervals {
				ivLost += iv.Lost
				jitterKnown = jitterKnown || iv.JitterKnown
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.Received != 0 || r.Total.Lost != 5 || r.Total.LostUp != 5 || r.Total.LossPct != 100 {
		t.Fatalf("%+v", r.Total)
	}
	if r.Total.RTT.N != 0 || r.Total.HasJitter() || jitterKnown {
		t.Fatalf("a run without replies has RTT or jitter: %+v", r.Total)
	}
	// The interval lines add up to the run: the last one, after the wait,
	// counts every unanswered probe, not only gaps below an answered one.
	if ivLost != 5 {
		t.Fatalf("intervals lost %d, want 5", ivLost)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Size: 10},
		{Size: 70000},
		{Count: -1},
		{Network: "tcp"},
		{Streams: 5000},
		{TCP: "ftp://x"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	tr, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := tr.Config(); c.Target != DefaultTarget || c.Size != 64 || c.Interval != 10*time.Millisecond || c.Count != 1000 || c.Streams != 1 {
		t.Fatalf("defaults %+v", c)
	}
	tr, _ = New(Config{Rate: 1e6, Size: 125})
	if tr.Config().Interval != time.Millisecond {
		t.Fatalf("rate 1 Mbit/s of 125 B: interval %v", tr.Config().Interval)
	}
}
