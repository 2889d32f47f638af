package webserver

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Hostile clients (issue 13): run them alone with go test -run Hostile.

// tinyBufferDialer dials with a 4 KiB receive buffer, so a client that
// never reads stalls the server's writes quickly.
var tinyBufferDialer = &net.Dialer{
	Timeout: 5 * time.Second,
	Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	},
}

// stuckReaders opens n connections that each ask for a 1 GB body, take its
// first byte (so the server is in the middle of the response) and read no
// more.
func stuckReaders(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := tinyBufferDialer.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
		conns = append(conns, c)
		io.WriteString(c, "GET /_socklab/bytes?n=1GB HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
	}
	return conns
}

// eventuallyConns polls cond for up to limit.
func eventuallyConns(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHostileSlowReaders (issue 13 #5): 100 clients that request a large
// body and never read do not hold --max-conns 100: each is closed after
// SendTimeout without write progress, and before that, a connection
// stalled in a write is evictable at the cap, so a normal client is served.
func TestHostileSlowReaders(t *testing.T) {
	t.Run("send timeout closes them", func(t *testing.T) {
		addr, s, _ := startServer(t, Config{MaxConns: 100, SendTimeout: 300 * time.Millisecond, Grace: 100 * time.Millisecond})
		stuckReaders(t, addr, 100)
		eventuallyConns(t, 20*time.Second, "stuck readers still hold their slots", func() bool { return s.conns.Open() == 0 })
		if st := s.conns.Stats(); st.SendTimeouts < 100 {
			t.Fatalf("%d send timeouts, want 100", st.SendTimeouts)
		}
	})
	t.Run("stalled writers are evictable at the cap", func(t *testing.T) {
		addr, s, _ := startServer(t, Config{MaxConns: 100, SendTimeout: time.Hour, Grace: 100 * time.Millisecond})
		stuckReaders(t, addr, 100)
		client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		var last error
		eventuallyConns(t, 15*time.Second, "a normal client still refused", func() bool {
			resp, err := client.Get("http://" + addr + "/")
			if last = err; err != nil {
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200 && strings.Contains(string(b), "socklab")
		})
		if st := s.conns.Stats(); st.Evicted == 0 || st.Open > 100 {
			t.Fatalf("evicted %d, open %d (last error %v)", st.Evicted, st.Open, last)
		}
	})
}

// TestHostileSlowloris (issue 13 #4): 300 reconnecting clients that never
// finish their request headers, against a cap of 256 (the 4,600
// against 4,096, scaled down): once the cap is full they wait at accept
// (and are handed over as slots free, or shed), a normal client's
// requests all succeed, and the cap holds throughout. (That the eviction
// is O(1) is internal/connlimit's TestHostileSlowlorisEvictionO1, and the
// waiting room's behaviour its TestHostileWaitingRoom.)
func TestHostileSlowloris(t *testing.T) {
	const max = 256
	addr, s, _ := startServer(t, Config{MaxConns: max, Grace: 100 * time.Millisecond})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 300 {
		wg.Go(func() {
			for i := 0; i < 1000; i++ { // bounded reconnects
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					continue
				}
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
				c.SetReadDeadline(time.Now().Add(time.Second))
				io.Copy(io.Discard, c) // until evicted
				c.Close()
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	start := time.Now()
	// At the cap the unfinished newcomers wait at accept, not handed to
	// the server to evict one another: more than 100 have gone through
	// the waiting room (each client reconnects every second).
	eventuallyConns(t, 10*time.Second, "the slowloris never filled the cap", func() bool {
		st := s.conns.Stats()
		return st.Promoted+st.Shed > 100
	})
	t.Logf("cap reached after %s", time.Since(start))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		resp, err := client.Get("http://" + addr + "/")
		if err != nil {
			t.Fatalf("normal request %d beside the slowloris: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("normal request %d: %d", i, resp.StatusCode)
		}
		if n := s.conns.Open(); n > max {
			t.Fatalf("%d connections open, cap %d", n, max)
		}
	}
	st := s.conns.Stats()
	t.Logf("20 requests after %s, %d waiting, %d promoted, %d shed, %d evictions", time.Since(start), st.Waiting, st.Promoted, st.Shed, st.Evicted)
}

// TestHostileWaitingMetrics (issue 13 #4): at the cap, unfinished
// newcomers show as waiting, not refused; the room (as large as the cap)
// overflows oldest first, counted as shed; a waiter is promoted when a
// slot frees; and a normal client still gets in at once, evicting it.
func TestHostileWaitingMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	addr, s, _ := startServer(t, Config{MaxConns: 1, Registerer: reg, Grace: 100 * time.Millisecond})
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
		return c
	}
	holder := dial()
	eventuallyConns(t, 5*time.Second, "the first client never held the slot", func() bool { return s.conns.Open() == 1 })
	dial()
	eventuallyConns(t, 5*time.Second, "the newcomer is not waiting", func() bool {
		return gathered(t, reg, "socklab_serve_http_connections_waiting") == 1
	})
	dial() // the room holds as many as the cap: the first waiter is shed
	eventuallyConns(t, 5*time.Second, "the room did not overflow", func() bool {
		return gathered(t, reg, "socklab_serve_http_connections_shed_total") == 1
	})
	holder.Close()
	eventuallyConns(t, 5*time.Second, "no waiter promoted when the slot freed", func() bool {
		return gathered(t, reg, "socklab_serve_http_connections_promoted_total") == 1
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("normal client at the cap: %v", err)
	}
	resp.Body.Close()
	for name, want := range map[string]float64{
		"socklab_serve_http_connections_waiting":        0,
		"socklab_serve_http_connections_refused_total":  0,
		"socklab_serve_http_connections_shed_total":     1,
		"socklab_serve_http_connections_evicted_total":  1,
		"socklab_serve_http_connections_promoted_total": 1,
	} {
		if got := gathered(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
