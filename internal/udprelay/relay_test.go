package udprelay

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/impair"
)

// echoServer answers every datagram with itself, on 127.0.0.1:0.
func echoServer(t testing.TB) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = pc.SetReadBuffer(4 << 20)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, bufSize)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				if strings.Contains(err.Error(), "closed") {
					return
				}
				continue
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	return pc
}

// startRelay runs a relay to upstream on 127.0.0.1:0 until the test ends.
func startRelay(t *testing.T, cfg Config) (*Relay, *net.UDPAddr) { return startRelayB(t, cfg) }

func startRelayB(t testing.TB, cfg Config) (*Relay, *net.UDPAddr) {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.SetReadBuffer(4 << 20) // before any client sends (Serve sets it too)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r, ln.LocalAddr().(*net.UDPAddr)
}

func dial(t *testing.T, addr *net.UDPAddr) *net.UDPConn { return dialB(t, addr) }

func dialB(t testing.TB, addr *net.UDPAddr) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond (a counter the relay updates) for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClientsGetOwnReplies(t *testing.T) {
	echo := echoServer(t)
	r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String()})
	const clients, each = 8, 100
	var wg sync.WaitGroup
	for c := range clients {
		conn := dial(t, addr)
		wg.Go(func() {
			buf := make([]byte, 100)
			want := fmt.Sprintf("client %d ", c)
			for round := range each / 10 { // 10 in flight per client
				for i := range 10 {
					if _, err := fmt.Fprintf(conn, "client %d seq %d", c, round*10+i); err != nil {
						t.Errorf("client %d: %v", c, err)
						return
					}
				}
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				for i := range 10 {
					n, err := conn.Read(buf)
					if err != nil {
						t.Errorf("client %d: reply %d: %v", c, round*10+i, err)
						return
					}
					if !strings.HasPrefix(string(buf[:n]), want) {
						t.Errorf("client %d got someone else's reply %q", c, buf[:n])
					}
				}
			}
		})
	}
	wg.Wait()
	// A reply can reach its client before the relay counts it as sent.
	waitFor(t, "the counters", func() bool { return r.Stats().Down.PacketsOut == clients*each })
	st := r.Stats()
	if st.Sessions != clients || st.SessionsOpened != clients {
		t.Errorf("sessions = %d (opened %d), want %d", st.Sessions, st.SessionsOpened, clients)
	}
	if st.Up.Packets != clients*each || st.Down.PacketsOut != clients*each || st.Up.Drops+st.Down.Drops != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestDatagramSizes(t *testing.T) {
	echo := echoServer(t)
	_, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String()})
	conn := dial(t, addr)
	_ = conn.SetWriteBuffer(1 << 20)
	buf := make([]byte, bufSize)
	for _, size := range []int{0, 1, 1472, 9000, MaxDatagram} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			p := make([]byte, size)
			for i := range p {
				p[i] = byte(i*7 + size)
			}
			if _, err := conn.Write(p); err != nil {
				t.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], p) {
				t.Fatalf("got %d bytes back, want the same %d", n, size)
			}
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	echo := echoServer(t)
	events := make(chan bool, 10)
	r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(), IdleTimeout: 30 * time.Millisecond,
		OnSession: func(_ netip.AddrPort, open bool) { events <- open }})
	conn := dial(t, addr)
	conn.Write([]byte("hello"))
	if !<-events {
		t.Fatal("first event is not an open")
	}
	select {
	case open := <-events:
		if open {
			t.Fatal("second open for the same client")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("session did not expire")
	}
	if st := r.Stats(); st.Sessions != 0 || st.SessionsExpired != 1 {
		t.Fatalf("after expiry: %d sessions, %d expired", st.Sessions, st.SessionsExpired)
	}
	// The client comes back: a new session, and the reply still reaches it.
	conn.Write([]byte("again"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for range 2 {
		if _, err := conn.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
}

// expire with an injected clock: only sessions idle past the timeout go.
func TestExpireClock(t *testing.T) {
	echo := echoServer(t)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	r, err := New(Config{Upstream: echo.LocalAddr().String(), IdleTimeout: time.Minute, now: clock})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort("192.0.2.1:1000")
	b := netip.MustParseAddrPort("192.0.2.2:1000")
	r.session(a)
	now.Add(int64(50 * time.Second))
	r.session(b)
	now.Add(int64(20 * time.Second)) // a idle 70 s, b 20 s
	r.expire(clock())
	if _, ok := r.sessions[a]; ok || r.Sessions() != 1 {
		t.Fatalf("after 70 s: sessions %v, want only b", r.sessions)
	}
	now.Add(int64(time.Minute))
	r.expire(clock())
	if r.Sessions() != 0 || r.c.expired.Load() != 2 {
		t.Fatalf("sessions %d, expired %d", r.Sessions(), r.c.expired.Load())
	}
	r.closeAll()
	r.wg.Wait()
}

// A flood of spoofed sources keeps the table at its bound: each new one
// takes the place of the oldest session not established, and none is
// refused while such sessions remain.
func TestSessionBound(t *testing.T) {
	echo := echoServer(t)
	r, err := New(Config{Upstream: echo.LocalAddr().String(), MaxSessions: 50})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer ln.Close()
	if err := r.attach(ln); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 4000)
		if s := r.handleUp(from, []byte("x")); s != nil {
			r.send(s, true, []byte("x"))
		}
		if got := r.Sessions(); got > 50 {
			t.Fatalf("%d sessions, bound 50", got)
		}
	}
	st := r.Stats()
	if st.Sessions != 50 || st.Up.DropsSessionLimit != 0 || st.SessionsEvicted != n-50 {
		t.Fatalf("sessions %d, refused %d, evicted %d; want 50, 0, %d", st.Sessions, st.Up.DropsSessionLimit, st.SessionsEvicted, n-50)
	}
	r.closeAll()
	r.wg.Wait()
}

// TestSessionEvictionOrder: at the bound the oldest session not established
// goes first; established ones stay, and when every session is established
// a new client is refused.
func TestSessionEvictionOrder(t *testing.T) {
	echo := echoServer(t)
	r, err := New(Config{Upstream: echo.LocalAddr().String(), MaxSessions: 3})
	if err != nil {
		t.Fatal(err)
	}
	addr := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 1000)
	}
	up := func(i int) *session { return r.handleUp(addr(i), []byte("x")) }
	establish := func(i int) {
		r.sessions[addr(i)].markReplied() // a reply came back...
		up(i)                             // ...and the client spoke again
	}
	has := func(want ...int) {
		t.Helper()
		if len(r.sessions) != len(want) {
			t.Fatalf("sessions %v, want %v", r.sessions, want)
		}
		for _, i := range want {
			if r.sessions[addr(i)] == nil {
				t.Fatalf("session %d gone; have %v", i, r.sessions)
			}
		}
	}
	up(1)
	up(2)
	up(3)
	establish(2)
	up(4) // evicts 1, the oldest not established
	has(2, 3, 4)
	r.sessions[addr(3)].markReplied() // a reply alone does not establish
	up(5)                             // evicts 3
	has(2, 4, 5)
	establish(4)
	establish(5)
	if s := up(6); s != nil { // all established: refused
		t.Fatal("a new client took the place of an established session")
	}
	has(2, 4, 5)
	if st := r.Stats(); st.SessionsEvicted != 2 || st.Up.DropsSessionLimit != 1 {
		t.Fatalf("evicted %d refused %d, want 2 and 1", st.SessionsEvicted, st.Up.DropsSessionLimit)
	}
	r.closeAll()
	r.wg.Wait()
}

// TestHostileRelayLockout (issue 13 #9): one-shot sources fill the session
// table and ~167 more arrive every second; a new real client is still
// answered within a second, and keeps being answered.
func TestHostileRelayLockout(t *testing.T) {
	echo := echoServer(t)
	const max = 20
	r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(), MaxSessions: max})
	oneShot := func() {
		c, err := net.DialUDP("udp", nil, addr)
		if err != nil {
			return
		}
		c.Write([]byte("spoofed"))
		c.Close() // never reads the reply, never speaks again
	}
	for range max {
		oneShot()
	}
	waitFor(t, "a full table", func() bool { return r.Sessions() == max })

	stop := make(chan struct{})
	flood := make(chan struct{})
	go func() { // ~167 pps, one new source each, for at most 10 s
		defer close(flood)
		tick := time.NewTicker(6 * time.Millisecond)
		defer tick.Stop()
		for range 1700 {
			select {
			case <-stop:
				return
			case <-tick.C:
				oneShot()
			}
		}
	}()
	defer func() { close(stop); <-flood }()

	c := dial(t, addr)
	buf := make([]byte, 64)
	first := time.Now()
	answered := false
	for !answered && time.Since(first) < time.Second {
		c.Write([]byte("real"))
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := c.Read(buf)
		answered = err == nil && string(buf[:n]) == "real"
	}
	if !answered {
		t.Fatalf("a real client got no reply within 1 s (sessions %d, refused %d)", r.Sessions(), r.Stats().Up.DropsSessionLimit)
	}
	for i := range 30 { // established now: the flood cannot push it out
		msg := fmt.Sprintf("real-%d", i)
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		for err == nil && string(buf[:n]) == "real" {
			// A late answer to one of the first loop's retries: skip it.
			n, err = c.Read(buf)
		}
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("round %d under the flood: %q %v", i, buf[:n], err)
		}
		time.Sleep(10 * time.Millisecond) // pacing: let the flood interleave
	}
	if r.Stats().SessionsEvicted == 0 {
		t.Fatal("no session evicted: the flood did not reach the table")
	}
}

func TestUpstreamDown(t *testing.T) {
	// A port nobody listens on: sends fail (ICMP port unreachable), the
	// relay keeps going and counts them.
	dead, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	r, addr := startRelay(t, Config{Upstream: deadAddr})
	conn := dial(t, addr)
	for range 20 {
		conn.Write([]byte("anyone?"))
	}
	waitFor(t, "20 datagrams", func() bool { return r.Stats().Up.Packets == 20 })
	if st := r.Stats(); st.Sessions != 1 {
		t.Fatalf("sessions %d", st.Sessions)
	}
}

func TestMetrics(t *testing.T) {
	echo := echoServer(t)
	reg := prometheus.NewRegistry()
	r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(), Registerer: reg})
	conn := dial(t, addr)
	conn.Write([]byte("ping"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the counters", func() bool { return r.Stats().Down.PacketsOut == 1 })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetSummary().GetSampleCount())
		}
	}
	if _, ok := got["socklab_udp_relay_lateness_seconds"]; !ok {
		t.Errorf("no lateness summary among %v", got)
	}
	if st := r.Stats(); st.Warnings == nil || st.Lateness.P99Ms != nil {
		t.Errorf("no delayed datagram: lateness %+v warnings %#v, want nulls and an empty list", st.Lateness, st.Warnings)
	}
	for key, want := range map[string]float64{
		"socklab_udp_relay_packets_total,up":             1,
		"socklab_udp_relay_sent_packets_total,down":      1,
		"socklab_udp_relay_sessions":                     1,
		"socklab_udp_relay_drops_total,up,loss":          0,
		"socklab_udp_relay_drops_total,up,session_limit": 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}

// probe is a datagram carrying its sequence number and send time.
func probe(seq int, size int) []byte {
	p := make([]byte, size)
	binary.BigEndian.PutUint64(p, uint64(seq))
	binary.BigEndian.PutUint64(p[8:], uint64(time.Now().UnixNano()))
	for i := 16; i < size; i++ {
		p[i] = byte(seq)
	}
	return p
}

type arrival struct {
	seq  int
	rtt  time.Duration
	good bool // payload intact
}

// roundTrips sends count probes through the relay, spaced by gap, and
// collects the replies until none has come for quiet.
func roundTrips(t *testing.T, addr *net.UDPAddr, count int, gap, quiet time.Duration) []arrival {
	t.Helper()
	conn := dial(t, addr)
	got := make(chan []arrival)
	go func() {
		var out []arrival
		buf := make([]byte, 256)
		for {
			conn.SetReadDeadline(time.Now().Add(quiet))
			n, err := conn.Read(buf)
			if err != nil {
				got <- out
				return
			}
			if n < 16 {
				continue
			}
			seq := int(binary.BigEndian.Uint64(buf))
			sent := int64(binary.BigEndian.Uint64(buf[8:]))
			out = append(out, arrival{seq: seq, rtt: time.Duration(time.Now().UnixNano() - sent), good: bytes.Equal(buf[:n], withTime(probe(seq, n), buf[8:16]))})
		}
	}()
	next := time.Now()
	for i := range count {
		conn.Write(probe(i, 64))
		if next = next.Add(gap); time.Until(next) > 0 {
			time.Sleep(time.Until(next))
		}
	}
	return <-got
}

func withTime(p, ts []byte) []byte {
	if len(p) >= 16 {
		copy(p[8:16], ts)
	}
	return p
}

// End to end, each impairment shows up at about its setting. Counts are
// modest; the exact statistics are tested on the policy (internal/impair).
func TestImpairEndToEnd(t *testing.T) {
	const count = 1000
	tests := []struct {
		name  string
		cfg   impair.Config
		gap   time.Duration
		check func(t *testing.T, arr []arrival, st Stats)
	}{
		{"loss", impair.Config{Loss: 0.05, Direction: impair.Up}, 100 * time.Microsecond, func(t *testing.T, arr []arrival, st Stats) {
			if got := 1 - float64(len(arr))/count; math.Abs(got-0.05) > 0.02 {
				t.Errorf("loss %.3f, want 0.05 ± 0.02", got)
			}
			if st.Up.DropsLoss != uint64(count-len(arr)) {
				t.Errorf("drops_loss %d, lost %d", st.Up.DropsLoss, count-len(arr))
			}
		}},
		{"delay", impair.Config{Delay: 20 * time.Millisecond}, time.Millisecond, func(t *testing.T, arr []arrival, st Stats) {
			rtts := make([]time.Duration, 0, len(arr))
			for i, a := range arr {
				rtts = append(rtts, a.rtt)
				if a.rtt < 40*time.Millisecond {
					t.Fatalf("rtt %v below twice the delay", a.rtt)
				}
				if i > 0 && a.seq < arr[i-1].seq {
					t.Fatalf("delay reordered: %d after %d", a.seq, arr[i-1].seq)
				}
			}
			slices.Sort(rtts)
			// The fastest round trip shows the added delay without the
			// machine's queueing (the race detector, a loaded CI box);
			// the median bound is loose on purpose. The 0.5 ms precision
			// is checked on the policy and the scheduler.
			if len(arr) != count || rtts[0] > 50*time.Millisecond || rtts[len(rtts)/2] > 150*time.Millisecond {
				t.Errorf("%d replies, rtt min %v median %v; want %d, ≈ 40 ms", len(arr), rtts[0], rtts[len(rtts)/2], count)
			}
		}},
		{"duplicate", impair.Config{Duplicate: 0.1, Direction: impair.Down}, 100 * time.Microsecond, func(t *testing.T, arr []arrival, st Stats) {
			if got := float64(len(arr))/count - 1; math.Abs(got-0.1) > 0.03 {
				t.Errorf("duplicates %.3f, want 0.10 ± 0.03", got)
			}
		}},
		{"corrupt", impair.Config{Corrupt: 0.1, Direction: impair.Up}, 100 * time.Microsecond, func(t *testing.T, arr []arrival, st Stats) {
			bad := 0
			for _, a := range arr {
				if !a.good {
					bad++
				}
			}
			// A flip in the timestamp (8 of 64 bytes) goes unseen here.
			if got := float64(st.Up.Corrupted) / count; math.Abs(got-0.1) > 0.03 || bad > int(st.Up.Corrupted) || bad < int(st.Up.Corrupted)*3/4 {
				t.Errorf("corrupted %.3f (%d seen damaged), want 0.10 ± 0.03", got, bad)
			}
		}},
		{"reorder", impair.Config{Delay: 5 * time.Millisecond, Reorder: 0.1, Direction: impair.Up}, 100 * time.Microsecond, func(t *testing.T, arr []arrival, st Stats) {
			early := 0 // arrived before a packet sent earlier
			for i := 1; i < len(arr); i++ {
				if arr[i].seq < arr[i-1].seq {
					early++
				}
			}
			if got := float64(st.Up.Reordered) / count; math.Abs(got-0.1) > 0.03 || early == 0 {
				t.Errorf("reordered %.3f, %d arrivals out of order; want 0.10 ± 0.03", got, early)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echo := echoServer(t)
			tt.cfg.Seed = 11
			r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(), Impair: tt.cfg})
			arr := roundTrips(t, addr, count, tt.gap, 300*time.Millisecond)
			tt.check(t, arr, r.Stats())
		})
	}
}

// The rate limit paces a burst and drops what overflows its queue.
func TestRateEndToEnd(t *testing.T) {
	echo := echoServer(t)
	const rate, queue, size, burst = 8e6, 100_000, 1000, 300 // 1 MB/s, 100 kB queue
	r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(),
		Impair: impair.Config{Rate: rate, QueueLimit: queue, Direction: impair.Up}})
	conn := dial(t, addr)
	_ = conn.SetWriteBuffer(4 << 20)
	p := make([]byte, size)
	start := time.Now()
	for range burst {
		conn.Write(p)
	}
	var last time.Time
	got := 0
	buf := make([]byte, 2048)
	for {
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := conn.Read(buf); err != nil {
			break
		}
		got++
		last = time.Now()
	}
	st := r.Stats()
	// Some overflow the queue (how many depends on how fast the client
	// sends); those that pass leave no faster than the rate: the bytes
	// after the bucket's first 1500 take at least their time at the rate.
	if got < 80 || st.Up.DropsQueue == 0 || st.Up.DropsQueue != uint64(burst-got) {
		t.Fatalf("received %d of %d, drops_queue %d", got, burst, st.Up.DropsQueue)
	}
	minSpan := time.Duration(float64((got-2)*size*8) / rate * 0.95 * float64(time.Second))
	if span := last.Sub(start); span < minSpan {
		t.Fatalf("%d datagrams arrived within %v: not paced to the rate", got, span)
	}
}

func TestIPv6(t *testing.T) {
	echo, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer echo.Close()
	_ = echo.SetReadBuffer(4 << 20)
	go func() {
		buf := make([]byte, bufSize)
		for {
			n, from, err := echo.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			echo.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	r, err := New(Config{Upstream: echo.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.SetReadBuffer(4 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	burstIntact(t, dial(t, ln.LocalAddr().(*net.UDPAddr)), 200)
}

// Datagrams held by the delay are bounded: beyond MaxQueued they are
// dropped and counted, not stored.
func TestDelayQueueBound(t *testing.T) {
	echo := echoServer(t)
	r, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String(), MaxQueued: 10,
		Impair: impair.Config{Delay: time.Hour, Direction: impair.Up}})
	conn := dial(t, addr)
	for range 50 {
		conn.Write([]byte("later"))
	}
	waitFor(t, "50 datagrams", func() bool { st := r.Stats(); return uint64(st.Queued)+st.Up.DropsQueue == 50 })
	if st := r.Stats(); st.Queued != 10 || st.Up.DropsQueue != 40 {
		t.Fatalf("queued %d, drops_queue %d; want 10 and 40", st.Queued, st.Up.DropsQueue)
	}
}

// burstIntact sends count datagrams of varied sizes back to back (so the
// relay moves them in batches) and checks every one comes back intact.
func burstIntact(t *testing.T, conn *net.UDPConn, count int) {
	t.Helper()
	payload := func(seq int) []byte {
		p := make([]byte, 8+seq*37%1400)
		binary.BigEndian.PutUint64(p, uint64(seq))
		for i := 8; i < len(p); i++ {
			p[i] = byte(seq + i)
		}
		return p
	}
	for i := range count {
		if _, err := conn.Write(payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	seen := make([]bool, count)
	buf := make([]byte, 2048)
	for range count {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d replies: %v", countTrue(seen), err)
		}
		seq := int(binary.BigEndian.Uint64(buf))
		if seq >= count || seen[seq] || !bytes.Equal(buf[:n], payload(seq)) {
			t.Fatalf("reply %d damaged or repeated (%d bytes)", seq, n)
		}
		seen[seq] = true
	}
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func TestBurstIntact(t *testing.T) {
	echo := echoServer(t)
	_, addr := startRelay(t, Config{Upstream: echo.LocalAddr().String()})
	burstIntact(t, dial(t, addr), 1000)
}

// A relay whose scheduler runs late says so: the delay it applies is then
// not the configured one.
func TestLatenessWarning(t *testing.T) {
	for _, c := range []struct {
		p99  time.Duration
		warn bool
	}{{200 * time.Microsecond, false}, {time.Millisecond, false}, {3 * time.Millisecond, true}} {
		l, ws := latenessStats(100, c.p99/2, c.p99/4, c.p99, 2*c.p99)
		if l.P99Ms == nil || *l.P99Ms != float64(c.p99)/1e6 || (len(ws) == 1) != c.warn || ws == nil {
			t.Errorf("p99 %v: %+v %+v", c.p99, l, ws)
		}
		if c.warn && ws[0].Kind != WarnLate {
			t.Errorf("kind %q", ws[0].Kind)
		}
	}
}
