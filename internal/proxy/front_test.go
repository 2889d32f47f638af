package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fastHits is how many hits the front answered itself so far.
func (h *harness) fastHits() uint64 { return h.p.counters.fastHits.Load() }

// A hit on the fast path carries the same fields, in substance, as the same
// hit answered by the full path, and never the Set-Cookie the origin gave
// the client whose request filled the cache (issue 13: cache isolation).
func TestFastHitCookieIsolation(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Set-Cookie", "session=first-client")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "shared body")
	})
	h := reverse(t, o)
	first := h.get("/c")
	if first.verdict() != "MISS" || first.Header.Get("Set-Cookie") != "session=first-client" {
		t.Fatalf("miss: %s, Set-Cookie %q; the client that went to the origin gets its cookie", first.verdict(), first.Header.Get("Set-Cookie"))
	}
	before := h.fastHits()
	fast := h.get("/c")
	if h.fastHits() != before+1 {
		t.Fatalf("the second GET was not answered on the fast path (fast hits %d → %d)", before, h.fastHits())
	}
	if fast.verdict() != "HIT" || fast.body != "shared body" {
		t.Fatalf("fast hit: %s %q", fast.verdict(), fast.body)
	}
	if v, ok := fast.Header["Set-Cookie"]; ok {
		t.Errorf("a fast hit handed another client's cookie: %q", v)
	}
	// The same hit through the full path (a Via field takes it there):
	// the same fields but for Via's extra hop.
	slow := h.get("/c", "Via", "1.1 elsewhere")
	if h.fastHits() != before+1 || slow.verdict() != "HIT" {
		t.Fatalf("Via request: %s, fast hits %d", slow.verdict(), h.fastHits())
	}
	if _, ok := slow.Header["Set-Cookie"]; ok {
		t.Error("a full-path hit handed another client's cookie")
	}
	for _, k := range []string{"Cache-Control", "Content-Type", "Content-Length", "Date", "X-Cache", "Via", "Cache-Status", "Age"} {
		if got, want := fast.Header.Values(k), slow.Header.Values(k); !slices.Equal(got, want) {
			t.Errorf("%s: fast path %q, full path %q", k, got, want)
		}
	}
	if len(fast.Header) != len(slow.Header) {
		t.Errorf("fast path fields %v\nfull path fields %v", fast.Header, slow.Header)
	}
}

// Reverse and forward entries live in separate key spaces on the fast path
// too: a reverse request naming a forward target's host in Host never
// answers a forward request for that target, nor the other way round.
func TestFastHitKeySpaces(t *testing.T) {
	rev := cachedOrigin(t, "reverse upstream")
	fwd := cachedOrigin(t, "forward target")
	h := reverse(t, rev)
	fwdHost := strings.TrimPrefix(fwd.URL, "http://")
	px, _ := url.Parse(h.url)
	fc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(px)}}
	getFwd := func() (string, string) {
		t.Helper()
		r, err := fc.Get(fwd.URL + "/k")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.Header.Get("X-Cache"), string(b)
	}
	getRev := func() resp {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.url+"/k", nil)
		req.Host = fwdHost // the poisoning attempt of issue 13
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return resp{r, string(b)}
	}
	if r := getRev(); r.verdict() != "MISS" || r.body != "reverse upstream" {
		t.Fatalf("reverse fill: %s %q", r.verdict(), r.body)
	}
	before := h.fastHits()
	if r := getRev(); r.verdict() != "HIT" || r.body != "reverse upstream" || h.fastHits() != before+1 {
		t.Fatalf("reverse hit: %s %q (fast hits +%d)", r.verdict(), r.body, h.fastHits()-before)
	}
	if v, body := getFwd(); v != "MISS" || body != "forward target" {
		t.Fatalf("forward request after the reverse fill: %s %q; want the target's own body, from the target", v, body)
	}
	if fwd.hits.Load() != 1 {
		t.Fatalf("forward target hits %d, want 1", fwd.hits.Load())
	}
	before = h.fastHits()
	if v, body := getFwd(); v != "HIT" || body != "forward target" || h.fastHits() != before+1 {
		t.Fatalf("forward hit: %s %q (fast hits +%d)", v, body, h.fastHits()-before)
	}
	if r := getRev(); r.body != "reverse upstream" {
		t.Fatalf("reverse hit after the forward fill: %q", r.body)
	}
	if rev.hits.Load() != 1 || fwd.hits.Load() != 1 {
		t.Errorf("origin hits: reverse %d, forward %d; want 1 each", rev.hits.Load(), fwd.hits.Load())
	}
}

// Requests that must not be answered as they stand go the full way, and
// a connection that took that way comes back to the fast path.
func TestFastHitLeavesOthersToFullPath(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		io.WriteString(w, "0123456789")
	})
	h := reverse(t, o)
	h.get("/f")
	for name, kv := range map[string][]string{
		"if-match":      {"If-Match", `"v1"`}, // If-None-Match and If-Modified-Since are the fast path's now (TestFastHitEquivalence)
		"range":         {"Range", "bytes=0-3"},
		"no-cache":      {"Cache-Control", "no-cache"},
		"pragma":        {"Pragma", "no-cache"},
		"authorization": {"Authorization", "Basic eDp5"},
	} {
		before := h.fastHits()
		h.get("/f", kv...)
		if h.fastHits() != before {
			t.Errorf("%s: answered on the fast path", name)
		}
	}
	// One connection: a miss (bridged), then a hit on the fast path.
	kc := dialKeepAlive(t, h.url)
	before := h.fastHits()
	for i, path := range []string{"/g", "/g", "/g"} {
		r, b := kc.get(t, i, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		want := "HIT"
		if i == 0 {
			want = "MISS"
		}
		if r.Header.Get("X-Cache") != want || string(b) != "0123456789" {
			t.Fatalf("request %d: %s %q, want %s", i, r.Header.Get("X-Cache"), b, want)
		}
	}
	if h.fastHits() != before+2 {
		t.Errorf("fast hits +%d on the connection that missed first, want 2", h.fastHits()-before)
	}
}

// The hit path allocates nothing per request with no access-log consumer,
// and only the access entry's two strings (URL and Cache-Status) with one.
func TestFastHitAllocs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		log   func(AccessEntry)
		bound float64
	}{
		{"no access log", nil, 0},
		{"access log", func(AccessEntry) {}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc, p := hitConn(t, tc.log)
			allocs := testing.AllocsPerRun(2000, func() {
				fc.bw.Reset(io.Discard)
				if served, keep := fc.serveHit(); !served || !keep {
					t.Fatal("not served on the fast path")
				}
			})
			if allocs > tc.bound {
				t.Errorf("%.1f allocations per hit, bound %.0f", allocs, tc.bound)
			}
			if p.counters.fastHits.Load() == 0 {
				t.Error("no fast hit counted")
			}
		})
	}
}

// hitConn returns a front connection whose current request, a GET for a
// stored 1 KiB object, the fast path answers.
func hitConn(t testing.TB, accessLog func(AccessEntry)) (*fconn, *Proxy) {
	body := strings.Repeat("x", 1024)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Etag", `"abc"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(w, body)
	}))
	t.Cleanup(o.Close)
	u, _ := url.Parse(o.URL)
	store, _ := NewMemoryStore(64 << 20)
	p, err := New(Config{Upstream: u, Store: store, AccessLog: accessLog})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/obj", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Host = "127.0.0.1"
	p.ServeHTTP(httptest.NewRecorder(), req)
	fc := &fconn{f: newFront(p, &net.TCPAddr{}), bw: bufio.NewWriter(io.Discard), allowed: true, client: "127.0.0.1"}
	if err := fc.hdr.Read(bufio.NewReader(strings.NewReader("GET /obj HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"))); err != nil {
		t.Fatal(err)
	}
	return fc, p
}

// BenchmarkFastHit measures the fast path's work for one hit, without
// sockets (BenchmarkHit measures the full path the same way).
func BenchmarkFastHit(b *testing.B) {
	fc, _ := hitConn(b, func(AccessEntry) {})
	b.ReportAllocs()
	for b.Loop() {
		fc.bw.Reset(io.Discard)
		if served, _ := fc.serveHit(); !served {
			b.Fatal("not served")
		}
	}
}

// fasthttp's request-head parser, which the front uses, refuses some
// ambiguous framing by itself (differing or signed Content-Length, codings
// other than chunked, TE in HTTP/1.0, a space before the colon) and
// accepts the rest (CL with chunked TE: chunked wins; obs-fold: unfolded,
// refused only when the unfolded TE is not plain chunked); the front
// refuses those itself, so a
// request that got past the guard would still be refused. This test pins
// both: a fasthttp upgrade that changed either would show here.
func TestFastHTTPParserFraming(t *testing.T) {
	const post = "POST /a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	for name, tc := range map[string]struct {
		head            string
		fasthttpRejects bool
	}{
		"differing CL":          {post + "Content-Length: 5\r\nContent-Length: 48\r\n\r\n", true},
		"TE gzip":               {post + "Transfer-Encoding: gzip\r\n\r\n", true},
		"CL with sign":          {post + "Content-Length: +5\r\n\r\n", true},
		"space before colon":    {post + "Transfer-Encoding : chunked\r\n\r\n", true},
		"CL and TE":             {post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		"TE and CL":             {post + "Transfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n", false},
		"TE obs-fold":           {post + "Transfer-Encoding:\r\n chunked\r\n\r\n", false},
		"obs-fold other field":  {post + "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", false},
		"TE in HTTP/1.0":        {"POST /a HTTP/1.0\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		"CL and TE on a GET":    {"GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		"TE chunked, tab fold":  {post + "Transfer-Encoding: identity\r\n\tchunked\r\n\r\n", true},
		"plain chunked (valid)": {post + "Transfer-Encoding: chunked\r\n\r\n", false},
	} {
		t.Run(name, func(t *testing.T) {
			var fc fconn
			err := fc.hdr.Read(bufio.NewReader(strings.NewReader(tc.head)))
			if (err != nil) != tc.fasthttpRejects {
				t.Fatalf("fasthttp: err %v, want rejected %v", err, tc.fasthttpRejects)
			}
			if err != nil {
				return
			}
			if got, want := fc.ambiguous(), name != "plain chunked (valid)"; got != want {
				t.Errorf("front refuses %v, want %v", got, want)
			}
		})
	}
	// Chunk sizes are a body's business: fasthttp's body reader refuses
	// the malformed ones (the front never reads a body: net/http does, and
	// the connection closes after any chunked request).
	for name, body := range map[string]string{
		"not hex":  "zz\r\nhello\r\n0\r\n\r\n",
		"0x":       "0x5\r\nhello\r\n0\r\n\r\n",
		"negative": "-1\r\nhello\r\n0\r\n\r\n",
		"overflow": "10000000000000005\r\nhello\r\n0\r\n\r\n",
		"overrun":  "2\r\nhello\r\n0\r\n\r\n",
	} {
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(strings.NewReader(post + "Transfer-Encoding: chunked\r\n\r\n" + body))); err == nil {
			t.Errorf("chunk size %s: fasthttp read the body %q", name, req.Body())
		}
	}
}

// Without the guard in front, smuggling still fails: the front refuses
// what fasthttp would accept, and what it bridges is chunked and closes
// the connection after one response; nothing after it reaches the origin.
func TestFrontWithoutGuard(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "origin saw "+r.URL.Path)
	})
	u, _ := url.Parse(o.URL)
	store, _ := NewMemoryStore(1 << 20)
	p, err := New(Config{Upstream: u, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFront(p, ln.Addr())
	done := make(chan error, 1)
	go func() { done <- f.serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f.shutdown(ctx)
	})
	cases := map[string]string{
		"well-framed chunked": smugglePost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + smuggle,
	}
	for _, name := range []string{"CL and TE", "TE obs-fold", "obs-fold other field", "TE in HTTP/1.0",
		"chunk size not hex", "chunk size 0x", "chunk size negative", "chunk data overrun"} {
		cases[name] = smugglingCases[name]
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			status, _, after, closed := exchange(t, ln.Addr().String(), req)
			if status == 0 || !closed || strings.Contains(after, "HTTP/1.1") {
				t.Errorf("status %d, closed %v, then %q; want one response and the connection closed", status, closed, after)
			}
			o.mu.Lock()
			last := ""
			if o.last != nil {
				last = o.last.URL.Path
			}
			o.mu.Unlock()
			if last == "/smuggled" {
				t.Error("the smuggled request reached the origin")
			}
		})
	}
}

// A head larger than the front's 4 KiB buffer (but within the header
// limit) is read whole, and the connection goes on to serve the next
// request from the fast path.
func TestFrontLargeHead(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "big-head "+strconvLen(r.Header.Get("X-Big")))
	})
	h := reverse(t, o)
	kc := dialKeepAlive(t, h.url)
	big := strings.Repeat("b", 20<<10)
	before := h.fastHits()
	for i, extra := range []string{"X-Big: " + big + "\r\n", "", ""} {
		r, b := kc.get(t, i, "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n"+extra+"\r\n")
		if string(b) != "big-head 20480" {
			t.Fatalf("request %d: %d %q", i, r.StatusCode, b)
		}
	}
	if h.fastHits() != before+2 {
		t.Errorf("fast hits +%d after the large head, want 2", h.fastHits()-before)
	}
}

func strconvLen(s string) string { return strconv.Itoa(len(s)) }

// keepAlive is one client connection that sends raw request heads and
// reads their responses in turn, with a 5 s deadline on the whole.
type keepAlive struct {
	c  net.Conn
	br *bufio.Reader
}

func dialKeepAlive(t *testing.T, proxyURL string) *keepAlive {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return &keepAlive{c: c, br: bufio.NewReader(c)}
}

// get sends request i's head and returns its response and body.
func (k *keepAlive) get(t *testing.T, i int, head string) (*http.Response, []byte) {
	t.Helper()
	if _, err := io.WriteString(k.c, head); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadResponse(k.br, nil)
	if err != nil {
		t.Fatalf("request %d: %v", i, err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	return r, b
}

// BenchmarkMissFront and BenchmarkMissNetHTTP time one uncacheable
// request (a miss every time) over one keep-alive connection, through
// the front (head parsed by fasthttp, request bridged to net/http) and
// through net/http serving the same handler directly: the difference is
// what the bridge adds to a miss.
func BenchmarkMissFront(b *testing.B)   { benchMiss(b, true) }
func BenchmarkMissNetHTTP(b *testing.B) { benchMiss(b, false) }

func benchMiss(b *testing.B, front bool) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, strings.Repeat("x", 1024))
	}))
	defer o.Close()
	u, _ := url.Parse(o.URL)
	store, _ := NewMemoryStore(1 << 20)
	p, err := New(Config{Upstream: u, Store: store, AccessLog: func(AccessEntry) {}})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	if front {
		go func() { _ = p.Serve(ctx, ln); close(done) }()
	} else {
		srv := &http.Server{Handler: p}
		go func() { _ = srv.Serve(ln); close(done) }()
		defer srv.Close()
	}
	defer func() { cancel(); ln.Close(); <-done }()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	target := "http://" + ln.Addr().String() + "/miss"
	for b.Loop() {
		r, err := c.Get(target)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
}

// A head the guard passes but fasthttp's parser refuses gets a 400, the
// connection closes, and the access log has its line like every other
// answer, with what the request line says.
func TestFrontRefusedHeadLogged(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "origin") })
	h := reverse(t, o)
	addr := strings.TrimPrefix(h.url, "http://")
	const get = "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	for name, req := range map[string]string{
		"control byte in a value":   get + "X-A: a\x01b\r\n\r\n",
		"DEL in a value":            get + "X-A: a\x7fb\r\n\r\n",
		"two Host fields":           get + "Host: 127.0.0.2\r\n\r\n",
		"Content-Length 0 twice":    get + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n",
		"two spaces before version": "GET /a  HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			status, body, after, closed := exchange(t, addr, req)
			if status != http.StatusBadRequest || body != "bad request\n" || after != "" || !closed {
				t.Fatalf("status %d %q, then %q, closed %v; want one 400 and the connection closed", status, body, after, closed)
			}
			select {
			case e := <-h.log:
				if e.Status != http.StatusBadRequest || e.Method != http.MethodGet || e.Client != "127.0.0.1" || e.Bytes != int64(len(body)) {
					t.Errorf("access entry %+v; want GET from 127.0.0.1, 400, %d bytes", e, len(body))
				}
				if !strings.HasPrefix(e.URL, "http://127.0.0.1/a") {
					t.Errorf("access entry URL %q, want http://127.0.0.1/a…", e.URL)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no access-log entry for the refused head")
			}
		})
	}
	if o.hits.Load() != 0 {
		t.Errorf("origin hits %d, want 0", o.hits.Load())
	}
}

// The fast path's answers to conditionals (RFC 9110 §13.2.2), HTTP/1.0
// clients (RFC 9112 §9.3) and Vary entries (RFC 9111 §4.1) equal those of
// the same proxy's handler served by net/http: status line, fields but
// Date and Age, body, and whether the connection stays open.
func TestFastHitEquivalence(t *testing.T) {
	const lm = "Sat, 21 Nov 2026 04:00:00 GMT"
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", lm)
		w.Header().Set("Content-Type", "text/plain")
		body := "plain body"
		if r.URL.Path == "/v" {
			w.Header().Set("Vary", "Accept-Encoding")
			body = "variant for " + r.Header.Get("Accept-Encoding")
		}
		io.WriteString(w, body)
	})
	h := reverse(t, o)
	nh := httptest.NewServer(h.p) // the same proxy, served by net/http alone
	t.Cleanup(nh.Close)
	addr := strings.TrimPrefix(h.url, "http://")
	for _, fill := range []string{"/p HTTP/1.1\r\n", "/v HTTP/1.1\r\nAccept-Encoding: gzip\r\n", "/v HTTP/1.1\r\nAccept-Encoding: br, gzip\r\n"} {
		if r := rawRoundTrip(t, addr, "GET "+fill+"Host: 127.0.0.1\r\n\r\n", func() {}); r.header.Get("X-Cache") != "MISS" {
			t.Fatalf("fill %q: %s", fill, r.header.Get("X-Cache"))
		}
	}
	const get = "GET /p HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	for name, head := range map[string]string{
		"If-None-Match matches":         get + "If-None-Match: \"x\", \"v1\"\r\n\r\n",
		"If-None-Match star":            get + "If-None-Match: *\r\n\r\n",
		"If-None-Match differs":         get + "If-None-Match: \"v0\"\r\n\r\n",
		"If-Modified-Since not since":   get + "If-Modified-Since: " + lm + "\r\n\r\n",
		"If-Modified-Since older":       get + "If-Modified-Since: Fri, 20 Nov 2026 04:00:00 GMT\r\n\r\n",
		"If-None-Match beats IMS":       get + "If-None-Match: \"v0\"\r\nIf-Modified-Since: " + lm + "\r\n\r\n",
		"HEAD If-None-Match":            "HEAD /p HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \"v1\"\r\n\r\n",
		"conditional, Connection close": get + "If-None-Match: \"v1\"\r\nConnection: close\r\n\r\n",
		"HTTP/1.0":                      "GET /p HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
		"HTTP/1.0 keep-alive":           "GET /p HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.0 HEAD keep-alive":      "HEAD /p HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: Keep-Alive\r\n\r\n",
		"HTTP/1.0 conditional":          "GET /p HTTP/1.0\r\nHost: 127.0.0.1\r\nIf-None-Match: \"v1\"\r\n\r\n",
		"Vary variant":                  "GET /v HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
		"Vary variant, normalised":      "GET /v HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip ,br\r\n\r\n",
		"Vary variant, conditional":     "GET /v HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nIf-None-Match: \"v1\"\r\n\r\n",
		"Vary variant, HTTP/1.0":        "GET /v HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			before := h.fastHits()
			fast := rawRoundTrip(t, addr, head, func() {
				if h.fastHits() != before+1 {
					t.Errorf("not answered on the fast path (fast hits +%d)", h.fastHits()-before)
				}
			})
			sameAnswer(t, fast, rawRoundTrip(t, strings.TrimPrefix(nh.URL, "http://"), head, func() {}))
		})
	}
}

// rawResult is one response read off a raw connection.
type rawResult struct {
	status string // status line: protocol, code, text
	header http.Header
	body   string
	closed bool // the server closed the connection after it
}

// rawRoundTrip sends head on a new connection to addr, reads the response,
// calls after, then sends a second request: closed reports that no
// response came to it (5 s bound on the whole).
func rawRoundTrip(t *testing.T, addr, head string, after func()) rawResult {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, head)
	method, _, _ := strings.Cut(head, " ")
	var interim []string
	r, err := http.ReadResponse(br, &http.Request{Method: method})
	for err == nil && r.StatusCode < 200 {
		interim = append(interim, r.Status+" "+r.Header.Get("Link"))
		r, err = http.ReadResponse(br, &http.Request{Method: method})
	}
	if err != nil {
		t.Fatalf("response: %v", err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	after()
	// Interim responses and the framing are compared as fields.
	r.Header["X-Test-Interim"] = interim
	r.Header["X-Test-Framing"] = append([]string{strconv.FormatInt(r.ContentLength, 10)}, r.TransferEncoding...)
	res := rawResult{status: r.Proto + " " + r.Status, header: r.Header, body: string(b)}
	io.WriteString(c, "GET /p HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	_, err = http.ReadResponse(br, nil)
	res.closed = err != nil
	return res
}

// sameAnswer fails t unless the front's answer equals net/http's: status
// line, body, whether the connection stayed open, and every field but
// Date and Age.
func sameAnswer(t *testing.T, front, nethttp rawResult) {
	t.Helper()
	if front.status != nethttp.status || front.body != nethttp.body || front.closed != nethttp.closed {
		t.Errorf("front    %q %q closed %v\nnet/http %q %q closed %v", front.status, front.body, front.closed, nethttp.status, nethttp.body, nethttp.closed)
	}
	for _, hd := range []http.Header{front.header, nethttp.header} {
		hd.Del("Date")
		hd.Del("Age")
	}
	if !equalHeaders(front.header, nethttp.header) {
		t.Errorf("fields differ:\nfront    %v\nnet/http %v", front.header, nethttp.header)
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// The fast path's answer to an HTTP/1.0 client allocates nothing per
// request; a matching conditional (a 304) only what httpcache.NotModified
// takes to split the If-None-Match list, and a Vary entry what building its
// secondary key takes (httpcache.SecondaryKey, the variant key). No
// access-log consumer, as in TestFastHitAllocs.
func TestFastHitAllocsMore(t *testing.T) {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Etag", `"abc"`)
		if r.URL.Path == "/vary" {
			w.Header().Set("Vary", "Accept-Encoding")
		}
		io.WriteString(w, strings.Repeat("x", 1024))
	}))
	t.Cleanup(o.Close)
	u, _ := url.Parse(o.URL)
	store, _ := NewMemoryStore(64 << 20)
	p, err := New(Config{Upstream: u, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/obj", "/vary"} {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr, req.Host = "127.0.0.1:5555", "127.0.0.1"
		req.Header.Set("Accept-Encoding", "gzip")
		p.ServeHTTP(httptest.NewRecorder(), req)
	}
	fc := &fconn{f: newFront(p, &net.TCPAddr{}), bw: bufio.NewWriter(io.Discard), allowed: true, client: "127.0.0.1"}
	for _, tc := range []struct {
		name, head string
		keep       bool
		bound      float64
	}{
		{"304", "GET /obj HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \"abc\"\r\n\r\n", true, 2},
		{"HTTP/1.0 keep-alive", "GET /obj HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n", true, 0},
		{"HTTP/1.0", "GET /obj HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", false, 0},
		{"Vary", "GET /vary HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n", true, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc.hdr.Reset()
			if err := fc.hdr.Read(bufio.NewReader(strings.NewReader(tc.head))); err != nil {
				t.Fatal(err)
			}
			before := p.counters.fastHits.Load()
			allocs := testing.AllocsPerRun(1000, func() {
				fc.bw.Reset(io.Discard)
				if served, keep := fc.serveHit(); !served || keep != tc.keep {
					t.Fatalf("served %v keep %v, want served, keep %v", served, keep, tc.keep)
				}
			})
			if allocs > tc.bound {
				t.Errorf("%.1f allocations per hit, bound %.0f", allocs, tc.bound)
			}
			t.Logf("%.1f allocations per hit", allocs)
			if p.counters.fastHits.Load() == before {
				t.Error("no fast hit counted")
			}
		})
	}
}

// Requests the front serves with the handler on its own goroutine (a GET
// or HEAD the fast path cannot answer) get the answer net/http gives when
// it serves the same handler: the same status line, fields but Date and
// Age, body and connection reuse, whatever the response's framing (length,
// chunked, none), interim 1xx responses, errors and bodiless statuses.
func TestDirectEquivalence(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"e1"`)
		switch r.URL.Path {
		case "/chunked":
			io.WriteString(w, "first ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "second")
		case "/big":
			io.WriteString(w, strings.Repeat("b", 5000))
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
		case "/hints":
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "after hints")
		case "/private":
			w.Header().Set("Cache-Control", "private")
			io.WriteString(w, "<html>mine</html>")
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "short and stout")
		default:
			io.WriteString(w, "body of "+r.URL.Path)
		}
	})
	h := reverse(t, o)
	u, _ := url.Parse(o.URL)
	p2, err := New(Config{Upstream: u, Store: mustMemoryStore(t), Now: h.clock.Now, AccessLog: func(AccessEntry) {}})
	if err != nil {
		t.Fatal(err)
	}
	nh := httptest.NewServer(p2) // the same handler, served by net/http alone
	t.Cleanup(nh.Close)
	dead := "GET http://127.0.0.1:1/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"
	cases := []struct{ name, head string }{
		{"miss", "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, chunked upstream", "GET /chunked HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, body over 4 KiB", "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, 204", "GET /nocontent HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, 103 first", "GET /hints HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, private", "GET /private HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, 418", "GET /teapot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, HEAD", "HEAD /h HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
		{"miss, conditional answered 304", "GET /c HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \"e1\"\r\n\r\n"},
		{"miss, Connection close", "GET /cl HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"},
		{"hit, range", "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=2-5\r\n\r\n"},
		{"hit, range unsatisfiable", "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=900-\r\n\r\n"},
		{"hit, no-cache revalidates", "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\nCache-Control: no-cache\r\n\r\n"},
		{"upstream down", dead},
		{"no upstream for a forward target's scheme", "GET ftp://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"},
	}
	addr := strings.TrimPrefix(h.url, "http://")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.p.counters.direct.Load()
			fast := rawRoundTrip(t, addr, tc.head, func() {
				if h.p.counters.direct.Load() != before+1 {
					t.Errorf("not served directly (direct +%d)", h.p.counters.direct.Load()-before)
				}
			})
			sameAnswer(t, fast, rawRoundTrip(t, strings.TrimPrefix(nh.URL, "http://"), tc.head, func() {}))
		})
	}
}

func mustMemoryStore(t *testing.T) *MemoryStore {
	s, err := NewMemoryStore(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A head with bare LF line ends (nc without -C) is answered as nginx and
// net/http answer it (RFC 9112 §2.2), a miss and then a hit from the
// front: fasthttp's parser alone waited for a CRLF that never came.
func TestFrontBareLFHead(t *testing.T) {
	o := cachedOrigin(t, "origin")
	h := reverse(t, o)
	addr := strings.TrimPrefix(h.url, "http://")
	for i, want := range []string{"MISS", "HIT"} {
		status, body, _, _ := exchange(t, addr, "GET /lf HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n")
		if status != http.StatusOK || body != "origin" {
			t.Fatalf("request %d: status %d %q, want 200 \"origin\"", i+1, status, body)
		}
		select {
		case e := <-h.log:
			if e.Cache != want {
				t.Errorf("request %d: cache %q, want %s", i+1, e.Cache, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d: no access-log entry", i+1)
		}
	}
	if o.hits.Load() != 1 {
		t.Errorf("origin hits %d, want 1", o.hits.Load())
	}
}
