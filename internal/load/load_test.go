package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/qoswire"
)

// freeAddr returns a loopback TCP address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func runLoad(t *testing.T, cfg Config) *Result {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r, err := l.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestHTTPClosedLoopCountsAndKeepAlive(t *testing.T) {
	body := []byte("hello, load\n")
	var hits atomic.Int64
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	r := runLoad(t, Config{Target: srv.URL + "/x", Clients: 4, Requests: 200})
	if r.Requests != 200 || r.Successes != 200 || hits.Load() != 200 {
		t.Fatalf("requests %d successes %d server saw %d, want 200 each", r.Requests, r.Successes, hits.Load())
	}
	if r.StatusCodes["200"] != 200 || len(r.StatusCodes) != 1 {
		t.Fatalf("status codes %v", r.StatusCodes)
	}
	if r.Failures != 0 || len(r.Errors) != 0 {
		t.Fatalf("errors %v", r.Errors)
	}
	if r.Bytes != int64(200*len(body)) {
		t.Fatalf("bytes %d, want %d", r.Bytes, 200*len(body))
	}
	if n := conns.Load(); n > 4 {
		t.Fatalf("%d connections for 4 clients: keep-alive is not working", n)
	}
	lat := r.Latency
	if lat.Count != 200 || !(lat.Min > 0 && lat.Min <= lat.P50 && lat.P50 <= lat.P90 && lat.P90 <= lat.P99 && lat.P99 <= lat.Max) {
		t.Fatalf("latency summary not ordered: %+v", lat)
	}
	var perClient int64
	for _, c := range r.PerClient {
		perClient += c.Requests
	}
	if len(r.PerClient) != 4 || perClient != 200 {
		t.Fatalf("per-client: %d clients, %d requests", len(r.PerClient), perClient)
	}
	if r.Mode != "closed" || r.Protocol != "http" || r.RequestsPerSec <= 0 || r.ThroughputBps != r.BytesPerSec*8 {
		t.Fatalf("summary fields: %+v", r)
	}
}

func TestHTTPStatusAndErrorKinds(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 1:
			w.WriteHeader(http.StatusNotFound)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	r := runLoad(t, Config{Target: srv.URL, Clients: 2, Requests: 40})
	want := map[string]int64{"200": 20, "404": 10, "502": 10}
	for k, v := range want {
		if r.StatusCodes[k] != v {
			t.Fatalf("status codes %v, want %v", r.StatusCodes, want)
		}
	}
	if r.Errors[KindStatus4xx] != 10 || r.Errors[KindStatus5xx] != 10 || r.Successes != 20 || r.Failures != 20 {
		t.Fatalf("errors %v successes %d failures %d", r.Errors, r.Successes, r.Failures)
	}
	if r.Latency.Count != 40 {
		t.Fatalf("latency count %d: every response has a latency", r.Latency.Count)
	}
	if got := r.SortedErrors(); len(got) != 2 || got[0] != KindStatus4xx {
		t.Fatalf("sorted errors %v", got)
	}
}

func TestHTTPRefused(t *testing.T) {
	r := runLoad(t, Config{Target: "http://" + freeAddr(t) + "/", Clients: 3, Requests: 30})
	if r.Requests != 30 || r.Errors[KindRefused] != 30 || r.Successes != 0 {
		t.Fatalf("requests %d errors %v successes %d", r.Requests, r.Errors, r.Successes)
	}
	if r.Latency.Count != 0 || r.StatusCodes != nil {
		t.Fatalf("refused requests recorded a latency or status: %+v", r)
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r := runLoad(t, Config{Target: srv.URL, Clients: 1, Requests: 2, Timeout: 50 * time.Millisecond})
	if r.Errors[KindTimeout] != 2 {
		t.Fatalf("errors %v, want 2 timeouts", r.Errors)
	}
}

// TestOpenLoopCountsQueueing is the coordinated-omission check: one client,
// a server that takes 50 ms per request, requests due every 25 ms. Request k
// cannot finish before (k+1)·50 ms and was due at k·25 ms, so its latency is
// at least 50 + 25k ms; a closed-loop tool would report ~50 ms for all.
func TestOpenLoopCountsQueueing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	defer srv.Close()

	const n = 12
	r := runLoad(t, Config{Target: srv.URL, Clients: 1, Rate: 40, Requests: n})
	if r.Mode != "open" || r.Successes != n {
		t.Fatalf("mode %s successes %d", r.Mode, r.Successes)
	}
	floorMax := float64(50 + 25*(n-1)) // ms
	if r.Latency.Max < floorMax*0.99 {
		t.Fatalf("max latency %.1f ms, want >= %.0f ms: queueing is not counted", r.Latency.Max, floorMax)
	}
	if floorP50 := float64(50 + 25*(n/2-1)); r.Latency.P50 < floorP50*0.99 {
		t.Fatalf("p50 %.1f ms, want >= %.0f ms", r.Latency.P50, floorP50)
	}

	// The same server in closed loop: every latency is one service time.
	c := runLoad(t, Config{Target: srv.URL, Clients: 1, Requests: 3})
	if c.Latency.Min < 50 {
		t.Fatalf("closed-loop min %.1f ms is below the server's 50 ms", c.Latency.Min)
	}
}

func TestDurationStopsAndContextCancels(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	t.Run("duration", func(t *testing.T) {
		r := runLoad(t, Config{Target: srv.URL, Clients: 2, Duration: 100 * time.Millisecond})
		if r.Requests == 0 || r.Successes != r.Requests {
			t.Fatalf("requests %d successes %d errors %v", r.Requests, r.Successes, r.Errors)
		}
	})
	t.Run("open loop duration sends only what was due", func(t *testing.T) {
		r := runLoad(t, Config{Target: srv.URL, Clients: 2, Rate: 100, Duration: 200 * time.Millisecond})
		// Due at 0, 10, …, 190 ms: exactly 20, even those a busy machine
		// sends late (their lateness is in the latency, not dropped).
		if r.Requests != 20 || r.Successes != 20 {
			t.Fatalf("%d requests (%d ok) at 100/s for 200 ms, want 20", r.Requests, r.Successes)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		l, err := New(Config{Target: srv.URL, Clients: 2, Duration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for l.Progress().Done < 10 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		r, err := l.Run(ctx)
		if err != nil || r.Requests < 10 || r.Errors[KindCanceled] != 0 {
			t.Fatalf("err %v requests %d errors %v", err, r.Requests, r.Errors)
		}
		if p := l.Progress(); p.Done != r.Requests || p.Fraction() <= 0 {
			t.Fatalf("progress %+v vs %d requests", p, r.Requests)
		}
	})
}

func TestCacheRatioThroughProxy(t *testing.T) {
	// A stand-in forward proxy: it sees absolute-form requests and marks
	// every other response as a cache hit, half with each header style.
	var n atomic.Int64
	var sawHost sync.Map
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawHost.Store(r.URL.Host, true)
		switch n.Add(1) % 4 {
		case 0:
			w.Header().Set("Cache-Status", "socklab; hit")
		case 1:
			w.Header().Set("Cache-Status", `socklab; fwd=uri-miss; stored`)
		case 2:
			w.Header().Set("X-Cache", "HIT")
		case 3:
			w.Header().Set("X-Cache", "MISS")
		}
		fmt.Fprint(w, "cached")
	}))
	defer proxy.Close()
	r := runLoad(t, Config{Target: "http://origin.invalid:8000/page", Proxy: proxy.URL, Clients: 2, Requests: 40})
	if _, ok := sawHost.Load("origin.invalid:8000"); !ok {
		t.Fatal("the request did not go through the proxy in absolute form")
	}
	if r.Cache == nil || r.Cache.Hits != 20 || r.Cache.Misses != 20 || r.Cache.HitRatio != 0.5 {
		t.Fatalf("cache %+v", r.Cache)
	}
	var perClientHits int64
	for _, c := range r.PerClient {
		perClientHits += c.CacheHits
	}
	if perClientHits != 20 {
		t.Fatalf("per-client hits %d", perClientHits)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no scheme", Config{Target: "example"}},
		{"ftp", Config{Target: "ftp://127.0.0.1/"}},
		{"no host", Config{Target: "http:///x"}},
		{"udp no port", Config{Target: "udp://127.0.0.1"}},
		{"udp small", Config{Target: "udp://127.0.0.1:9", Size: 10}},
		{"udp proxy", Config{Target: "udp://127.0.0.1:9", Proxy: "http://127.0.0.1:8080"}},
		{"negative clients", Config{Target: "http://127.0.0.1/", Clients: -1}},
		{"negative rate", Config{Target: "http://127.0.0.1/", Rate: -1}},
		{"negative timeout", Config{Target: "http://127.0.0.1/", Timeout: -1}},
		{"bad proxy", Config{Target: "http://127.0.0.1/", Proxy: "ftp://x:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !errors.Is(err, errs.ErrInvalidConfig) {
				t.Fatalf("New = %v, want an error wrapping errs.ErrInvalidConfig", err)
			}
			if err := tt.cfg.Validate(); !errors.Is(err, errs.ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want an error wrapping errs.ErrInvalidConfig", err)
			}
		})
	}
	l, err := New(Config{Target: "http://127.0.0.1/"})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Config(); c.Clients != DefaultClients || c.Duration != DefaultDuration || c.Timeout != DefaultHTTPTimeout {
		t.Fatalf("defaults %+v", c)
	}
}

func TestScheduleDue(t *testing.T) {
	tests := []struct {
		name string
		s    schedule
		i    int64
		at   time.Duration
		ok   bool
	}{
		{"closed unlimited", schedule{}, 1e9, 0, true},
		{"closed count end", schedule{requests: 10}, 10, 0, false},
		{"closed last", schedule{requests: 10}, 9, 0, true},
		{"open first", schedule{rate: 40}, 0, 0, true},
		{"open 25ms", schedule{rate: 40}, 3, 75 * time.Millisecond, true},
		{"open fractional", schedule{rate: 3}, 1, 333333333, true},
		{"open before duration", schedule{rate: 10, duration: time.Second}, 9, 900 * time.Millisecond, true},
		{"open at duration", schedule{rate: 10, duration: time.Second}, 10, 0, false},
		{"open count first", schedule{rate: 1000, requests: 5, duration: time.Hour}, 5, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, ok := tt.s.due(tt.i)
			if at != tt.at || ok != tt.ok {
				t.Fatalf("due(%d) = %v, %v; want %v, %v", tt.i, at, ok, tt.at, tt.ok)
			}
		})
	}
}

// reflector is an in-test QoS reflector on loopback that drops the probes
// for which drop(seq) is true.
func reflector(t *testing.T, drop func(seq uint64) bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		var count uint64
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			h, err := qoswire.Parse(buf[:n])
			if err != nil || (drop != nil && drop(h.Seq)) {
				continue
			}
			count++
			now := time.Now().UnixNano()
			_ = qoswire.Reflect(buf[:n], now, now, count)
			pc.WriteTo(buf[:n], addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestUDPLoad(t *testing.T) {
	addr := reflector(t, func(seq uint64) bool { return seq%5 == 4 })
	tests := []struct {
		name string
		cfg  Config
	}{
		{"closed", Config{Target: "udp://" + addr, Clients: 2, Requests: 40, Size: 200, Timeout: 50 * time.Millisecond}},
		{"open", Config{Target: "udp://" + addr, Clients: 2, Requests: 40, Rate: 2000, Timeout: 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runLoad(t, tt.cfg)
			if r.Protocol != "udp" || r.UDP == nil || r.UDP.Sent != 40 {
				t.Fatalf("result %+v", r)
			}
			// Each client numbers its probes from 0 and every fifth is dropped.
			var wantLost int64
			for _, c := range r.PerClient {
				if c.UDP == nil {
					t.Fatalf("client %d has no udp stats", c.ID)
				}
				if want := c.UDP.Sent / 5; c.UDP.Lost != want {
					t.Fatalf("client %d sent %d lost %d, want %d", c.ID, c.UDP.Sent, c.UDP.Lost, want)
				}
				if c.UDP.Received+c.UDP.Lost != c.UDP.Sent || c.Latency.Count != c.UDP.Received {
					t.Fatalf("client %d: %+v latency count %d", c.ID, c.UDP, c.Latency.Count)
				}
				wantLost += c.UDP.Sent / 5
			}
			if r.UDP.Lost != wantLost || r.Errors[KindLost] != wantLost || r.Successes != 40-wantLost {
				t.Fatalf("lost %d errors %v successes %d, want %d lost", r.UDP.Lost, r.Errors, r.Successes, wantLost)
			}
			if r.UDP.LossPct != float64(wantLost)/40*100 {
				t.Fatalf("loss %.2f%%", r.UDP.LossPct)
			}
			if r.Latency.Min <= 0 || r.Latency.Max < r.Latency.P50 {
				t.Fatalf("rtt %+v", r.Latency)
			}
			if tt.cfg.Size != 0 && r.Bytes != r.Successes*int64(tt.cfg.Size) {
				t.Fatalf("bytes %d for %d replies of %d", r.Bytes, r.Successes, tt.cfg.Size)
			}
		})
	}
}

func TestUDPRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	r := runLoad(t, Config{Target: "udp://" + addr, Clients: 1, Requests: 5, Timeout: 2 * time.Second})
	if r.Successes != 0 || r.Errors[KindRefused] == 0 {
		t.Fatalf("errors %v successes %d: want refused", r.Errors, r.Successes)
	}
	if r.Requests != 5 {
		t.Fatalf("requests %d", r.Requests)
	}
	// Each probe is one request: refused or lost, never both.
	var sum int64
	for _, v := range r.Errors {
		sum += v
	}
	if r.Failures != 5 || sum != 5 {
		t.Fatalf("failures %d, errors %v (sum %d): want 5 for 5 requests", r.Failures, r.Errors, sum)
	}
}

func TestAttributeLost(t *testing.T) {
	for _, c := range []struct {
		lost int64
		seen map[string]int64
		want map[string]int64
	}{
		{5, map[string]int64{KindRefused: 5}, map[string]int64{KindRefused: 5}},
		{5, map[string]int64{KindRefused: 7}, map[string]int64{KindRefused: 5}},
		{5, map[string]int64{KindRefused: 2}, map[string]int64{KindRefused: 2, KindLost: 3}},
		{3, nil, map[string]int64{KindLost: 3}},
		{0, map[string]int64{KindRefused: 1}, map[string]int64{}},
	} {
		got := map[string]int64{}
		attributeLost(got, c.lost, c.seen)
		if !maps.Equal(got, c.want) {
			t.Errorf("lost %d seen %v: got %v, want %v", c.lost, c.seen, got, c.want)
		}
	}
}

// Open loop: the rate is the completed requests over the schedule, not
// over the time between the first and the last send.
func TestOpenLoopRateOverSchedule(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	r := runLoad(t, Config{Target: srv.URL, Clients: 1, Rate: 8, Duration: 500 * time.Millisecond})
	if r.Requests != 4 || r.RequestsPerSec != 8 {
		t.Fatalf("%d requests at %.2f req/s, want 4 at 8", r.Requests, r.RequestsPerSec)
	}
}

func BenchmarkHTTPLoad(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	l, err := New(Config{Target: srv.URL, Clients: 4, Requests: int64(b.N)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	r, _ := l.Run(context.Background())
	b.ReportMetric(r.RequestsPerSec, "req/s")
}

func TestHTTPSLoad(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secure")) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	r := runLoad(t, Config{Target: srv.URL, Clients: 2, Requests: 20, Insecure: true})
	if r.Successes != 20 || r.Bytes != 120 {
		t.Fatalf("insecure: %+v", r)
	}
	r = runLoad(t, Config{Target: srv.URL, Clients: 1, Requests: 3})
	if r.Errors[KindTLS] != 3 {
		t.Fatalf("unverified certificate: errors %v", r.Errors)
	}
}

func TestNoteLag(t *testing.T) {
	l := &Load{sched: schedule{rate: 100}} // one request every 10 ms
	l.noteLag(5 * time.Millisecond)
	if l.lateSends.Load() != 0 {
		t.Fatal("5 ms behind a 10 ms interval counted late")
	}
	l.noteLag(30 * time.Millisecond)
	l.noteLag(20 * time.Millisecond)
	if l.lateSends.Load() != 2 || l.maxLag.Load() != int64(30*time.Millisecond) {
		t.Fatalf("late %d max %v", l.lateSends.Load(), time.Duration(l.maxLag.Load()))
	}
	w := l.warnings(&Result{Requests: 10, Errors: map[string]int64{}})
	if len(w) != 1 || w[0].Kind != WarnBehindSchedule {
		t.Fatalf("warnings %+v", w)
	}
	if w := (&Load{}).warnings(&Result{Errors: map[string]int64{}}); w == nil || len(w) != 0 {
		t.Fatalf("no warnings must be an empty list, got %#v", w)
	}
}
