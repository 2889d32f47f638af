package proxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// rawOrigin answers every request with the bytes reply(n) (n counts
// requests from 1) and then closes the connection.
func rawOrigin(t *testing.T, reply func(n int) string) (addr string, hits *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hits = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				n := hits.Add(1)
				io.WriteString(c, reply(int(n)))
			}()
		}
	}()
	return ln.Addr().String(), hits
}

func TestIncompleteBodiesAreErrorsAndNotStored(t *testing.T) {
	head := "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\n"
	tests := []struct {
		name  string
		reply string
	}{
		{"short Content-Length", head + "Content-Length: 100\r\n\r\n" + strings.Repeat("a", 50)},
		{"chunked without terminator", head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n"},
		{"dies mid-chunk", head + "Transfer-Encoding: chunked\r\n\r\n10\r\nhello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, hits := rawOrigin(t, func(int) string { return tc.reply })
			u, _ := url.Parse("http://" + addr)
			h := start(t, Config{Upstream: u})
			for i := 1; i <= 2; i++ {
				r, err := client.Get(h.url + "/broken")
				if err == nil {
					_, err = io.ReadAll(r.Body)
					r.Body.Close()
				}
				if err == nil {
					t.Fatalf("request %d: the client read a complete body; it must see an error", i)
				}
				if hits.Load() != int64(i) {
					t.Fatalf("request %d: origin hits %d: an incomplete response was stored", i, hits.Load())
				}
			}
			if st := h.p.Stats(); st.Objects != 0 || st.Stores != 0 {
				t.Errorf("stored: %+v", st)
			}
		})
	}
}

func TestCoalescing(t *testing.T) {
	tests := []struct {
		name      string
		cc        string
		wantHits  int64
		sameBody  bool
		collapsed bool
	}{
		{"cacheable: one upstream request", "max-age=60", 1, true, true},
		{"private: rechecked, never shared", "private, max-age=60", 100, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 100
			release := make(chan struct{})
			var seq atomic.Int64
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				n := seq.Add(1)
				if n == 1 {
					<-release // hold the leader until every other request waits
				}
				w.Header().Set("Cache-Control", tc.cc)
				fmt.Fprintf(w, "body #%d", n)
			})
			h := reverse(t, o)
			var wg sync.WaitGroup
			bodies := make([]string, n)
			statuses := make([]string, n)
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := client.Get(h.url + "/c")
					if err != nil {
						errs <- err
						return
					}
					b, _ := io.ReadAll(r.Body)
					r.Body.Close()
					bodies[i], statuses[i] = string(b), r.Header.Get("Cache-Status")
				}()
			}
			waitFor(t, "99 coalesced waiters", func() bool { return h.p.flights.waiting.Load() == n-1 })
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if o.hits.Load() != tc.wantHits {
				t.Fatalf("origin hits %d, want %d", o.hits.Load(), tc.wantHits)
			}
			distinct := map[string]bool{}
			collapsed := 0
			for i := range n {
				distinct[bodies[i]] = true
				if strings.Contains(statuses[i], "collapsed") {
					collapsed++
				}
			}
			if tc.sameBody && (len(distinct) != 1 || collapsed != n-1) {
				t.Errorf("bodies %v, collapsed %d", distinct, collapsed)
			}
			if !tc.sameBody && (len(distinct) != n || collapsed != 0) {
				t.Errorf("a private response was shared: %d distinct bodies, %d collapsed", len(distinct), collapsed)
			}
		})
	}
}

func TestEvictionUnderSizeBound(t *testing.T) {
	const bound = 256 << 10
	store, err := NewMemoryStore(bound)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("x", 8<<10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, body)
	})
	u, _ := url.Parse(o.URL)
	h := start(t, Config{Upstream: u, Store: store})
	for i := range 200 { // 1.6 MB through a 256 KiB cache
		if r := h.get("/obj/" + strconv.Itoa(i)); r.body != body {
			t.Fatalf("object %d: body of %d bytes", i, len(r.body))
		}
	}
	store.CleanUp()
	st := h.p.Stats()
	if st.Bytes > bound || st.Evictions == 0 || st.Objects == 0 {
		t.Fatalf("store after 200 × 8 KiB: %+v (bound %d)", st, bound)
	}
	if st.Objects > bound/(8<<10) {
		t.Errorf("%d objects of 8 KiB cannot fit in %d bytes", st.Objects, bound)
	}
}

func TestMaxObjectSizeStreamsThrough(t *testing.T) {
	big := strings.Repeat("b", 100<<10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		}
		io.WriteString(w, big)
	})
	u, _ := url.Parse(o.URL)
	h := start(t, Config{Upstream: u, MaxObjectSize: 64 << 10})
	for _, path := range []string{"/big", "/big?chunked=1"} {
		for i := range 2 {
			r := h.get(path)
			if r.body != big || r.verdict() != "MISS" {
				t.Fatalf("%s request %d: %s, %d bytes", path, i, r.verdict(), len(r.body))
			}
		}
	}
	if o.hits.Load() != 4 {
		t.Errorf("origin hits %d, want 4 (nothing stored)", o.hits.Load())
	}
}

func TestForwardProxy(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=60"))
	h := start(t, Config{}) // no upstream: forward only
	pu, _ := url.Parse(h.url)
	fc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	for i, want := range []string{"MISS", "HIT"} {
		r, err := fc.Get(o.URL + "/f")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		checkMarked(t, r)
		if r.Header.Get("X-Cache") != want || string(b) != "hello #1" {
			t.Fatalf("request %d: %s %q", i, r.Header.Get("X-Cache"), b)
		}
	}
	if o.lastHeader("Via") != "1.1 socklab" || o.lastHeader("X-Forwarded-For") != "" {
		t.Errorf("forwarded request: Via %q X-Forwarded-For %q", o.lastHeader("Via"), o.lastHeader("X-Forwarded-For"))
	}
	// A request naming the proxy itself is a loop, not an endless recursion.
	self, _ := url.Parse(h.url + "/self")
	r, err := fc.Get(self.String())
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusLoopDetected {
		t.Errorf("request to the proxy itself: %d, want 508", r.StatusCode)
	}
	// Origin-form without an upstream is a readable 400.
	if r := h.get("/f"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "no upstream") {
		t.Errorf("origin-form without upstream: %d %q", r.StatusCode, r.body)
	}
}

func TestConnectTunnel(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secret over tls")
	}))
	defer ts.Close()
	tu, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(tu.Port())
	h := start(t, Config{ConnectPorts: []int{port}})
	pu, _ := url.Parse(h.url)
	tr := ts.Client().Transport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(pu)
	r, err := (&http.Client{Transport: tr}).Get(ts.URL)
	if err != nil {
		t.Fatalf("GET through the tunnel: %v", err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(b) != "secret over tls" {
		t.Fatalf("tunnel body %q", b)
	}
	tr.CloseIdleConnections()
	waitFor(t, "tunnel closed", func() bool { return h.p.Stats().TunnelsActive == 0 })
	if st := h.p.Stats(); st.Tunnels != 1 {
		t.Errorf("tunnels %d", st.Tunnels)
	}

	// A port not in ConnectPorts is refused.
	h2 := start(t, Config{})
	c, err := net.Dial("tcp", strings.TrimPrefix(h2.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", tu.Host, tu.Host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("CONNECT to port %d: %d, want 403", port, resp.StatusCode)
	}
}

func TestACL(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=60"))
	u, _ := url.Parse(o.URL)

	h := start(t, Config{Upstream: u, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if r := h.get("/"); r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "127.0.0.1") || o.hits.Load() != 0 {
		t.Errorf("client outside --allow: %d %q", r.StatusCode, r.body)
	}

	fwd := func(h *harness, target string) (int, string) {
		req, _ := http.NewRequest("GET", target, nil)
		pu, _ := url.Parse(h.url)
		r, err := (&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	blocked := start(t, Config{BlockLocalDest: true, ConnectPorts: []int{port(t, u)}})
	if status, body := fwd(blocked, o.URL); status != http.StatusForbidden || !strings.Contains(body, "local destinations are not allowed") || strings.Contains(body, "--") {
		t.Errorf("local destination: %d %q", status, body)
	}
	// A name is checked on the address it resolves to, at dial time.
	if status, body := fwd(blocked, "http://localhost:"+u.Port()+"/dest"); status != http.StatusForbidden {
		t.Errorf("localhost destination: %d %q", status, body)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(blocked.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host, u.Host)
	if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("CONNECT to a local destination: %v %v", resp, err)
	}
	allowed := start(t, Config{BlockLocalDest: true, AllowDest: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if status, body := fwd(allowed, o.URL+"/dest"); status != http.StatusOK {
		t.Errorf("destination in --allow-dest: %d %q", status, body)
	}
}

func port(t *testing.T, u *url.URL) int {
	t.Helper()
	n, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUpstreamErrors(t *testing.T) {
	// A port with nothing listening: take one and close it.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := ln.Addr().String()
	ln.Close()

	block := make(chan struct{})
	defer close(block)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	slowURL, _ := url.Parse(slow.URL)

	tests := []struct {
		name     string
		upstream string
		status   int
		words    []string
	}{
		{"refused", refused, http.StatusBadGateway, []string{refused, "connection refused"}},
		{"timeout", slowURL.Host, http.StatusGatewayTimeout, []string{slowURL.Host, "no response within"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Config{Upstream: &url.URL{Scheme: "http", Host: tc.upstream}, UpstreamTimeout: 300 * time.Millisecond})
			r := h.get("/")
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %q", r.StatusCode, tc.status, r.body)
			}
			for _, w := range tc.words {
				if !strings.Contains(r.body, w) {
					t.Errorf("body %q lacks %q", r.body, w)
				}
			}
		})
	}
}

func TestPurgeAccessLogMetricsAndWrapConn(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=60"))
	u, _ := url.Parse(o.URL)
	reg := prometheus.NewRegistry()
	var wrapped atomic.Int64
	h := start(t, Config{Upstream: u, Registerer: reg, WrapConn: func(c net.Conn) net.Conn { wrapped.Add(1); return c }})
	h.get("/p")
	h.get("/p")
	if r := h.do("PURGE", "/p"); r.StatusCode != http.StatusOK {
		t.Fatalf("PURGE stored URL: %d", r.StatusCode)
	}
	if r := h.do("PURGE", "/p"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("PURGE again: %d", r.StatusCode)
	}
	if r := h.get("/p"); r.verdict() != "MISS" || o.hits.Load() != 2 {
		t.Fatalf("after PURGE: %s hits %d", r.verdict(), o.hits.Load())
	}
	var verdicts []string
	for range 5 {
		e := <-h.log
		verdicts = append(verdicts, e.Method+" "+e.Cache+" "+strconv.Itoa(e.Status))
		if e.Client != "127.0.0.1" || !strings.HasSuffix(e.URL, "/p") {
			t.Errorf("access entry %+v", e)
		}
	}
	if got := strings.Join(verdicts, ","); got != "GET MISS 200,GET HIT 200,PURGE MISS 200,PURGE MISS 404,GET MISS 200" {
		t.Errorf("access log: %s", got)
	}
	if line := FormatAccess(AccessEntry{Client: "127.0.0.1", Method: "GET", URL: "http://x/", Status: 200, Bytes: 5, Cache: "HIT"}); !strings.HasSuffix(line, "127.0.0.1 GET http://x/ 200 5 0.000ms HIT") {
		t.Errorf("FormatAccess: %q", line)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
	}
	for _, name := range []string{"socklab_proxy_requests_total", "socklab_proxy_request_duration_seconds", "socklab_proxy_cache_bytes", "socklab_proxy_cache_evictions_total",
		"socklab_proxy_connections", "socklab_proxy_connections_shed_total", "socklab_proxy_connections_waiting", "socklab_proxy_connections_promoted_total"} {
		if !found[name] {
			t.Errorf("metric %s missing", name)
		}
	}
	if wrapped.Load() == 0 {
		t.Error("WrapConn was not applied to client connections")
	}
}

func TestServeDrainsInFlightOnCancel(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "finished")
	})
	u, _ := url.Parse(o.URL)
	p, err := New(Config{Upstream: u, Grace: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		r, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		got <- result{string(b), err}
	}()
	<-arrived
	cancel() // shut down while the request is in flight
	close(release)
	if res := <-got; res.err != nil || res.body != "finished" {
		t.Fatalf("in-flight request: %q %v", res.body, res.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still open")
	}
}

func TestCoalescedRevalidation(t *testing.T) {
	const n = 50
	release := make(chan struct{})
	var seq atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			if seq.Add(1) == 1 {
				<-release
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "cached body")
	})
	h := reverse(t, o)
	h.get("/s")
	h.clock.Advance(20 * time.Second)
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := client.Get(h.url + "/s")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			bodies[i] = string(b)
		}()
	}
	waitFor(t, "waiters on the revalidation", func() bool { return h.p.flights.waiting.Load() == n-1 })
	close(release)
	wg.Wait()
	if o.hits.Load() != 2 {
		t.Errorf("origin hits %d, want 2 (one fill, one revalidation)", o.hits.Load())
	}
	for i, b := range bodies {
		if b != "cached body" {
			t.Fatalf("response %d: %q", i, b)
		}
	}
}

func TestUpstreamStallingMidBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hold := make(chan struct{})
	defer close(hold)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 100\r\n\r\nhalf")
				<-hold // then nothing: the upstream stalls
			}()
		}
	}()
	h := start(t, Config{Upstream: &url.URL{Scheme: "http", Host: ln.Addr().String()}, UpstreamTimeout: 200 * time.Millisecond})
	r, err := client.Get(h.url + "/stall")
	if err == nil {
		_, err = io.ReadAll(r.Body)
		r.Body.Close()
	}
	if err == nil {
		t.Fatal("a stalled body reached the client as complete")
	}
	if st := h.p.Stats(); st.Objects != 0 {
		t.Errorf("stored: %+v", st)
	}
}
