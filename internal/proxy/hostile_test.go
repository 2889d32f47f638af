package proxy

// The hostile-client suite (issue 13): each TestHostile* attacks the proxy
// the way an attacker would, over real sockets on 127.0.0.1, and fails
// without the fix it guards. `go test -run Hostile ./...` runs them all.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// rawExchange writes req on a fresh connection to addr and returns every
// byte the proxy sends back until it closes (bounded by 5 s).
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// statusOf is the status code of the first response in raw, 0 if none.
func statusOf(raw string) int {
	r, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

// An origin's Set-Cookie reaches the client whose request went to it and
// nobody else: the stored response is reused without it.
func TestHostileCookieIsolation(t *testing.T) {
	var n atomic.Int64
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Add("Set-Cookie", fmt.Sprintf("session=client%d; HttpOnly", n.Add(1)))
		w.Header().Add("Set-Cookie2", "legacy=1")
		io.WriteString(w, "page")
	})
	h := reverse(t, o)
	first := h.get("/account")
	if first.verdict() != "MISS" || first.Header.Get("Set-Cookie") != "session=client1; HttpOnly" {
		t.Fatalf("first client: %s, Set-Cookie %q (its own cookie must reach it)", first.verdict(), first.Header.Get("Set-Cookie"))
	}
	second := h.get("/account")
	if second.verdict() != "HIT" || second.body != "page" {
		t.Fatalf("second client: %s %q, want a HIT (reusable without the cookie)", second.verdict(), second.body)
	}
	if c := second.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Fatalf("second client got the first one's cookie: %q", c)
	}
	if c := second.Header.Values("Set-Cookie2"); len(c) != 0 {
		t.Fatalf("second client got Set-Cookie2: %q", c)
	}
	if o.hits.Load() != 1 {
		t.Errorf("origin hits %d, want 1", o.hits.Load())
	}
}

// A reverse-proxy client claiming another server's Host cannot store a
// response that forward-proxy clients then get for that server.
func TestHostileReverseHostPoisoning(t *testing.T) {
	up := cachedOrigin(t, "upstream")
	victim := cachedOrigin(t, "victim")
	uu, _ := url.Parse(up.URL)
	vu, _ := url.Parse(victim.URL)
	h := start(t, Config{Upstream: uu})
	pu, _ := url.Parse(h.url)

	// Origin-form with the victim's Host: the reverse upstream answers.
	req, _ := http.NewRequest(http.MethodGet, h.url+"/", nil)
	req.Host = vu.Host
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(b) != "upstream" {
		t.Fatalf("reverse request: %q", b)
	}
	fc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	defer fc.CloseIdleConnections()
	r, err = fc.Get(victim.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if string(b) != "victim" || r.Header.Get("X-Cache") != "MISS" || victim.hits.Load() != 1 {
		t.Fatalf("forward request for %s: %q %s, victim hits %d: the reverse entry poisoned the forward key space",
			victim.URL, b, r.Header.Get("X-Cache"), victim.hits.Load())
	}
	// The reverse entry is still there for reverse clients.
	req, _ = http.NewRequest(http.MethodGet, h.url+"/", nil)
	req.Host = vu.Host
	if r, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.Header.Get("X-Cache") != "HIT" || up.hits.Load() != 1 {
		t.Errorf("reverse again: %s, upstream hits %d", r.Header.Get("X-Cache"), up.hits.Load())
	}
}

// With --upstream http://origin/app, no request reaches the origin outside
// /app: every escape is a 400.
func TestHostileUpstreamPrefixEscape(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin saw "+r.URL.Path)
	})
	u, _ := url.Parse(o.URL + "/app")
	h := start(t, Config{Upstream: u})
	addr := strings.TrimPrefix(h.url, "http://")
	for _, p := range []string{"/../echo", "/..%2fecho", "/%2e%2e/echo", "/x/../../echo", "/%2E%2E%2Fecho", "/..\\echo", "/./../echo"} {
		raw := rawExchange(t, addr, "GET "+p+" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
		if st := statusOf(raw); st != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400\n%s", p, st, raw)
		}
	}
	if n := o.hits.Load(); n != 0 {
		t.Fatalf("%d escapes reached the origin", n)
	}
	// Paths that stay inside the prefix still work.
	for p, want := range map[string]string{"/echo": "/app/echo", "/x/../echo": "/app/echo"} {
		raw := rawExchange(t, addr, "GET "+p+" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
		if !strings.HasSuffix(raw, "origin saw "+want) {
			t.Errorf("GET %s: %q, want the origin to see %s", p, raw, want)
		}
	}
}

// The destination check guards the targets clients choose; the configured
// upstream is always reachable, even on a loopback address.
func TestHostileDestCheckSparesUpstream(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok")
	})
	u, _ := url.Parse(o.URL)
	// BlockLocalDest is what the cli sets for a non-loopback --http.
	h := start(t, Config{Upstream: u, BlockLocalDest: true})
	if r := h.get("/"); r.StatusCode != http.StatusOK || r.body != "ok" {
		t.Fatalf("reverse request to the configured upstream: %d %q", r.StatusCode, r.body)
	}
	// A forward request for the same loopback address is still refused,
	// though a connection to it sits in the upstream's pool.
	pu, _ := url.Parse(h.url)
	fc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	defer fc.CloseIdleConnections()
	r, err := fc.Get(o.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("forward request to a loopback destination: %d, want 403", r.StatusCode)
	}
	if o.hits.Load() != 1 {
		t.Errorf("origin hits %d, want 1", o.hits.Load())
	}
}

// A client that half-closes before its miss is answered gets no made-up
// response, the log says 499, and nothing is cached.
func TestHostileHalfClosedClient(t *testing.T) {
	var n atomic.Int64
	arrived := make(chan struct{}, 1)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if n.Add(1) == 1 {
			arrived <- struct{}{}
			select { // held until the proxy gives up on it
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		io.WriteString(w, "full")
	})
	h := reverse(t, o)
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
	<-arrived
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if len(got) != 0 {
		t.Fatalf("half-closed client was answered %q", got)
	}
	wantClientClosedLogged(t, h.log)
	if r := h.get("/slow"); r.verdict() != "MISS" || r.body != "full" {
		t.Errorf("next request: %s %q, want a MISS (nothing cached from the abandoned one)", r.verdict(), r.body)
	}
}

// wantClientClosedLogged waits (5 s at most) for the access-log entry of
// a request whose client left, and fails t unless it says 499.
func wantClientClosedLogged(t *testing.T, log <-chan AccessEntry) {
	t.Helper()
	select {
	case e := <-log:
		if e.Status != StatusClientClosed {
			t.Errorf("access log status %d, want %d", e.Status, StatusClientClosed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no access-log entry")
	}
}

// exchange writes req on a fresh connection to addr while reading: the
// first response, then everything after it until the proxy closes (5 s
// bound). closed says the proxy closed the connection.
func exchange(t *testing.T, addr, req string) (status int, body, after string, closed bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(c, req) // the proxy may answer before all is sent
	br := bufio.NewReader(c)
	r, err := http.ReadResponse(br, nil)
	for err == nil && r.StatusCode == http.StatusContinue {
		r, err = http.ReadResponse(br, nil) // the final response
	}
	if err != nil {
		return 0, "", "", false
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	rest, err := io.ReadAll(br)
	// A reset counts as closed: the proxy closed with the rest of an
	// oversized request unread.
	return r.StatusCode, string(b), string(rest), err == nil || errors.Is(err, syscall.ECONNRESET)
}

// smuggle is a request that would ride inside the attack's body.
const smuggle = "GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

// smugglePost starts the POST most smuggling cases send.
const smugglePost = "POST /a HTTP/1.1\r\nHost: 127.0.0.1\r\n"

// smugglingCases are requests with ambiguous framing (RFC 9112 §6.1, §6.3,
// §7.1), each followed by a smuggled second request; the proxy answers each
// with one 400 and closes the connection.
var smugglingCases = map[string]string{
	"CL and TE":             smugglePost + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
	"TE and CL":             smugglePost + "Transfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n0\r\n\r\n" + smuggle,
	"TE obs-fold":           smugglePost + "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggle,
	"TE obs-fold only":      smugglePost + "Transfer-Encoding: identity\r\n\tchunked\r\n\r\n0\r\n\r\n" + smuggle,
	"obs-fold other field":  smugglePost + "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n" + smuggle,
	"TE last not chunked":   smugglePost + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggle,
	"TE gzip":               smugglePost + "Transfer-Encoding: gzip\r\n\r\n" + smuggle,
	"TE chunked twice":      smugglePost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
	"TE in HTTP/1.0":        "POST /a HTTP/1.0\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
	"space before colon":    smugglePost + "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggle,
	"differing CL":          smugglePost + "Content-Length: 5\r\nContent-Length: 48\r\n\r\nhello" + smuggle,
	"differing CL list":     smugglePost + "Content-Length: 5, 48\r\n\r\nhello" + smuggle,
	"CL with sign":          smugglePost + "Content-Length: +5\r\n\r\nhello" + smuggle,
	"bare CR":               smugglePost + "X-A: a\rTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + smuggle,
	"chunk size not hex":    smugglePost + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + smuggle,
	"chunk size 0x":         smugglePost + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n" + smuggle,
	"chunk size negative":   smugglePost + "Transfer-Encoding: chunked\r\n\r\n-1\r\nhello\r\n0\r\n\r\n" + smuggle,
	"chunk size space":      smugglePost + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n" + smuggle,
	"chunk size overflow":   smugglePost + "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n" + smuggle,
	"chunk size bare LF":    smugglePost + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + smuggle,
	"chunk data overrun":    smugglePost + "Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n" + smuggle,
	"second chunk size bad": smugglePost + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n\r\n" + smuggle,
	"CL and TE on a GET":    "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
	"TE on a pipelined 2nd": "GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + smugglePost + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
}

// Ambiguous framing is a 400 before anything reaches the origin, and the
// connection closes: no second request rides inside the first.
func TestHostileRequestSmuggling(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "origin saw "+r.URL.Path)
	})
	h := reverse(t, o)
	addr := strings.TrimPrefix(h.url, "http://")
	const post = smugglePost
	cases := smugglingCases
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			before := o.hits.Load()
			status, body, after, closed := exchange(t, addr, req)
			if name == "TE on a pipelined 2nd" {
				// The first request is fine; the second is the attack.
				if status != http.StatusOK {
					t.Fatalf("first response %d", status)
				}
				status, body, after, closed = statusOf(after), after, "", strings.Count(after, "HTTP/1.1 ") == 1
				before++
			}
			if status != http.StatusBadRequest || !closed || strings.Contains(after, "HTTP/1.1") {
				t.Errorf("status %d, closed %v, then %q; want one 400 and the connection closed\n%s", status, closed, after, body)
			}
			if n := o.hits.Load() - before; n != 0 {
				t.Errorf("%d request(s) reached the origin", n)
			}
		})
	}
	// A well-framed chunked request still works, and closes the
	// connection after its response: what follows is never read.
	status, body, after, closed := exchange(t, addr, post+"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"+smuggle)
	if status != http.StatusOK || body != "origin saw /a" || after != "" || !closed {
		t.Errorf("chunked request: %d %q, then %q, closed %v", status, body, after, closed)
	}
	o.mu.Lock()
	last := o.last.URL.Path
	o.mu.Unlock()
	if last != "/a" {
		t.Errorf("the origin saw %s after the chunked request", last)
	}
}

// Header size and count are bounded: 431, and nothing reaches the origin.
func TestHostileHeaderLimits(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	h := reverse(t, o)
	addr := strings.TrimPrefix(h.url, "http://")
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "X-%d: v\r\n", i)
		}
		return b.String()
	}
	const get = "GET /h HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	for name, req := range map[string]string{
		"100 KB field":    get + "X-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n",
		"10000 fields":    get + many(10000) + "\r\n",
		"101 fields":      get + many(100) + "\r\n",
		"unfinished 1MiB": get + "X-Slow: " + strings.Repeat("a", 1<<20),
	} {
		t.Run(name, func(t *testing.T) {
			status, _, _, closed := exchange(t, addr, req)
			if status != http.StatusRequestHeaderFieldsTooLarge || !closed {
				t.Errorf("status %d closed %v, want 431 and closed", status, closed)
			}
		})
	}
	if n := o.hits.Load(); n != 0 {
		t.Fatalf("%d oversized requests reached the origin", n)
	}
	// Each refusal is in the access log.
	for range 4 {
		select {
		case e := <-h.log:
			if e.Status != http.StatusRequestHeaderFieldsTooLarge || e.Method != http.MethodGet || !strings.HasSuffix(e.URL, "/h") {
				t.Errorf("access entry %+v", e)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a refusal is missing from the access log")
		}
	}
	// At the limits, requests pass.
	if status, body, _, _ := exchange(t, addr, get+many(98)+"Connection: close\r\n\r\n"); status != http.StatusOK || body != "ok" {
		t.Errorf("100 fields: %d %q", status, body)
	}
}
