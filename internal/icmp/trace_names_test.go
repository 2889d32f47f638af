package icmp

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/socklab/socklab/internal/icmp/probe"
)

// pathConn is a datagram ICMP socket on a scripted path: the echo request
// with TTL n dies at hops[n-1], the last hop is the destination. It records
// when each probe was sent.
type pathConn struct {
	*fakeConn
	me   netip.Addr
	hops []netip.Addr
	mu   sync.Mutex
	sent []time.Time
}

func (c *pathConn) WriteTo(msg []byte, dst netip.Addr, ttl int) error {
	req, err := probe.ParseMessage(false, msg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.sent = append(c.sent, time.Now())
	c.mu.Unlock()
	if ttl >= len(c.hops) {
		c.in <- Packet{Data: echoReply(false, req), From: dst, TTL: 64}
		return nil
	}
	c.in <- Packet{Data: timeExceeded(c.me, dst, msg), From: c.hops[ttl-1], TTL: 64}
	return nil
}

func (c *pathConn) sendTimes() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.sent...)
}

// slowDNS is a DNS server on 127.0.0.1 that answers PTR queries from names,
// each after delay.
type slowDNS struct {
	conn  *net.UDPConn
	delay time.Duration
	names map[string]string // "1.2.0.192.in-addr.arpa." → "r1.test."
	stop  chan struct{}
	wg    sync.WaitGroup

	mu    sync.Mutex
	first time.Time // when the first answer went out
	sent  int
}

func startSlowDNS(t *testing.T, delay time.Duration, names map[string]string) *slowDNS {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &slowDNS{conn: c, delay: delay, names: names, stop: make(chan struct{})}
	s.wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			s.wg.Go(func() { s.answer(q, from) })
		}
	})
	t.Cleanup(func() {
		close(s.stop)
		c.Close()
		s.wg.Wait()
	})
	return s
}

func (s *slowDNS) answer(q []byte, to netip.AddrPort) {
	select {
	case <-time.After(s.delay):
	case <-s.stop:
		return
	}
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return
	}
	question, err := p.Question()
	if err != nil {
		return
	}
	name, ok := s.names[question.Name.String()]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: dnsmessage.RCodeNameError}
	if ok {
		rh.RCode = dnsmessage.RCodeSuccess
	}
	b := dnsmessage.NewBuilder(nil, rh)
	_ = b.StartQuestions()
	_ = b.Question(question)
	_ = b.StartAnswers()
	if ok && question.Type == dnsmessage.TypePTR {
		_ = b.PTRResource(dnsmessage.ResourceHeader{Name: question.Name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET, TTL: 60},
			dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(name)})
	}
	msg, err := b.Finish()
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.sent++; s.sent == 1 {
		s.first = time.Now()
	}
	s.mu.Unlock()
	_, _ = s.conn.WriteToUDPAddrPort(msg, to)
}

func (s *slowDNS) answered() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.first
}

// resolverVia is a Go resolver whose every query goes to the test's server
// on loopback, never to the system's.
func resolverVia(s *slowDNS) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp4", s.conn.LocalAddr().String())
	}}
}

// countingResolve wraps r as TraceConfig.Resolve and counts the calls and the
// most that ran at once.
type countingResolve struct {
	r           *net.Resolver
	calls, peak atomic.Int32
	running     atomic.Int32
}

func (c *countingResolve) resolve(ctx context.Context, addr netip.Addr) string {
	c.calls.Add(1)
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	names, err := c.r.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	return strings.TrimSuffix(names[0], ".")
}

// TestTraceSlowResolverNeverDelaysProbes traces a scripted three-hop path
// while a real DNS server on loopback takes 2 s to answer each reverse
// lookup. With one probe in flight, every probe goes right after the last
// answer: were a lookup on the probe path, the fourth probe would wait for
// hop 1's name.
func TestTraceSlowResolverNeverDelaysProbes(t *testing.T) {
	const delay = 2 * time.Second
	me := netip.MustParseAddr("192.0.2.100")
	hops := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")}
	names := map[string]string{
		"1.2.0.192.in-addr.arpa.": "r1.test.",
		"2.2.0.192.in-addr.arpa.": "r2.test.",
		"3.2.0.192.in-addr.arpa.": "dest.test.",
	}
	trace := func(t *testing.T, timeout time.Duration, parallel int, log *slog.Logger) (*pathConn, *slowDNS, *countingResolve, []Hop, TraceResult) {
		t.Helper()
		srv := startSlowDNS(t, delay, names)
		conn := &pathConn{fakeConn: newFakeConn(false, nil), me: me, hops: hops}
		cr := &countingResolve{r: resolverVia(srv)}
		var got []Hop
		res, err := Trace(context.Background(), TraceConfig{
			Target: hops[2], Protocol: TraceICMP, InFlight: 1, Wait: 5 * time.Second, WaitHere: -1, WaitNear: -1, // no 100 ms floor for a loaded reader to miss
			Resolve: cr.resolve, ResolveTimeout: timeout, ResolveParallel: parallel, Logger: log,
			Listen: func(ListenConfig) (Conn, error) { return conn, nil },
			OnHop:  func(h Hop) { got = append(got, h) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return conn, srv, cr, got, res
	}

	t.Run("names arrive after the probing", func(t *testing.T) {
		t.Parallel()
		conn, srv, cr, got, res := trace(t, 10*time.Second, 2, nil)
		answers, first := srv.answered()
		if answers == 0 {
			t.Fatal("the DNS server answered nothing")
		}
		sent := conn.sendTimes()
		if len(sent) != 9 {
			t.Fatalf("%d probes sent, want 9", len(sent))
		}
		for i, at := range sent {
			if !at.Before(first) {
				t.Errorf("probe %d sent %v after the first DNS answer: a lookup held the probing", i, at.Sub(first))
			}
		}
		if res.Elapsed >= delay {
			t.Errorf("probing took %v, not less than one lookup (%v)", res.Elapsed, delay)
		}
		if !res.Reached || len(res.Hops) != 3 || len(got) != 3 {
			t.Fatalf("result %+v, OnHop saw %d hops", res, len(got))
		}
		want := []string{"r1.test", "r2.test", "dest.test"}
		for i, h := range got {
			for _, p := range h.Probes {
				if h.TTL != i+1 || !p.Answered || p.From != hops[i] || p.Name != want[i] || p.NameTimedOut || p.RTT <= 0 || p.RTT >= delay {
					t.Errorf("hop %d (OnHop) probe %+v, want %s named %s", h.TTL, p, hops[i], want[i])
				}
			}
			if res.Hops[i].Probes[0].Name != want[i] {
				t.Errorf("result hop %d named %q, want %q", i+1, res.Hops[i].Probes[0].Name, want[i])
			}
		}
		if c := cr.calls.Load(); c != 3 {
			t.Errorf("%d lookups for 3 addresses: the cache should ask once each", c)
		}
		if p := cr.peak.Load(); p != 2 {
			t.Errorf("at most %d lookups ran at once, want exactly ResolveParallel (2)", p)
		}
	})

	t.Run("a lookup that times out leaves the address numeric", func(t *testing.T) {
		t.Parallel()
		var logged bytes.Buffer
		log := slog.New(slog.NewTextHandler(&syncWriter{w: &logged}, nil))
		start := time.Now()
		_, srv, _, got, res := trace(t, 200*time.Millisecond, 0, log)
		took := time.Since(start)
		if answers, _ := srv.answered(); answers != 0 || took >= delay {
			t.Fatalf("Run took %v and returned after %d DNS answers: it waited for the resolver", took, answers)
		}
		if len(got) != 3 || !res.Reached {
			t.Fatalf("result %+v", res)
		}
		for _, h := range res.Hops {
			for _, p := range h.Probes {
				if !p.Answered || p.Name != "" || !p.NameTimedOut {
					t.Errorf("hop %d probe %+v: want answered, no name, NameTimedOut", h.TTL, p)
				}
			}
		}
		if n := strings.Count(logged.String(), "reverse DNS lookup timed out"); n != 3 {
			t.Errorf("%d timeout notes in the log, want one per address:\n%s", n, logged.String())
		}
	})
}

// syncWriter serializes writes from the lookup goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
