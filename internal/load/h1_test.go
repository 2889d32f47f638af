package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cannedServer answers every request on a connection with the next of
// responses (cycling), after reading the request head. closeAfter > 0
// closes each connection after that many responses.
func cannedServer(t testing.TB, closeAfter int, responses ...string) (addr string, conns *atomic.Int64, lastReq *atomic.Value) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int64)
	lastReq = new(atomic.Value)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				var head bytes.Buffer
				for i := 0; closeAfter == 0 || i < closeAfter; i++ {
					head.Reset()
					for {
						line, err := br.ReadSlice('\n')
						if err != nil {
							return
						}
						head.Write(line)
						if len(line) <= 2 {
							break
						}
					}
					if !bytes.HasPrefix(head.Bytes(), []byte("GET /quiet ")) {
						lastReq.Store(head.String()) // (allocates: not for the allocation test)
					}
					if _, err := io.WriteString(c, responses[i%len(responses)]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), conns, lastReq
}

func h1For(t testing.TB, rawURL, method, proxy string) *h1Conn {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	tg, ok, err := newH1Target(u, method, http.Header{"User-Agent": {"socklab-load"}}, "", proxy, false, 2*time.Second)
	if err != nil || !ok {
		t.Fatalf("newH1Target: %v %v", ok, err)
	}
	return newH1Conn(context.Background(), tg)
}

func TestH1Responses(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		response  string
		status    int
		bytes     int64
		verdict   string
		keepAlive bool
	}{
		{"content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, 5, "", true},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n", 200, 15, "", true},
		{"read to close", "GET", "HTTP/1.1 200 OK\r\n\r\nuntil the end", 200, 13, "", false},
		{"connection close", "GET", "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", 404, 2, "", false},
		{"http/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, 1, "", false},
		{"http/1.0 keep-alive", "GET", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", 200, 1, "", true},
		{"head", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 200, 0, "", true},
		{"no content", "GET", "HTTP/1.1 204 No Content\r\n\r\n", 204, 0, "", true},
		{"not modified", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", 304, 0, "", true},
		{"interim 100", "GET", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, 2, "", true},
		{"cache headers", "GET", "HTTP/1.1 200 OK\r\ncache-status: socklab; hit\r\nX-CACHE: HIT\r\nContent-Length: 0\r\n\r\n", 200, 0, CacheHit, true},
		{"no reason", "GET", "HTTP/1.1 502\r\nContent-Length: 0\r\n\r\n", 502, 0, "", true},
		// Fields of the same length as the five that matter are compared, not mistaken.
		{"look-alike fields", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Cachy: HIT\r\nConnectio_: close\r\nContent-Lengtx: 9\r\nContent-Length: 2\r\n\r\nok", 200, 2, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &h1Conn{t: &h1Target{head: tt.method == "HEAD"}, cache: http.Header{}, br: bufio.NewReader(strings.NewReader(tt.response))}
			r, keepAlive, _, err := c.readResponse()
			if err != nil {
				t.Fatalf("readResponse: %v", err)
			}
			if r.status != tt.status || r.bytes != tt.bytes || r.verdict != tt.verdict || keepAlive != tt.keepAlive {
				t.Fatalf("got %+v keepAlive %v; want status %d bytes %d verdict %q keepAlive %v", r, keepAlive, tt.status, tt.bytes, tt.verdict, tt.keepAlive)
			}
		})
	}
}

func TestH1Malformed(t *testing.T) {
	for name, resp := range map[string]string{
		"not http":        "SSH-2.0-OpenSSH\r\n",
		"bad status":      "HTTP/1.1 2x0 OK\r\n\r\n",
		"bad length":      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"bad header":      "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"bad chunk":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"chunk no crlf":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n",
		"header too long": "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 20000) + "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := &h1Conn{t: &h1Target{}, cache: http.Header{}, br: bufio.NewReaderSize(strings.NewReader(resp), 16<<10)}
			_, _, _, err := c.readResponse()
			if !errors.Is(err, ErrProtocol) || ErrorKind(err) != KindProtocol {
				t.Fatalf("err %v, want a protocol error", err)
			}
		})
	}
	c := &h1Conn{t: &h1Target{}, cache: http.Header{}, br: bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))}
	if _, _, _, err := c.readResponse(); ErrorKind(err) != KindEOF {
		t.Fatalf("truncated body: %v", err)
	}
}

func FuzzH1Response(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false)
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false)
	f.Add("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 204 No\r\n\r\n", true)
	f.Fuzz(func(t *testing.T, resp string, head bool) {
		c := &h1Conn{t: &h1Target{head: head}, cache: http.Header{}, br: bufio.NewReaderSize(strings.NewReader(resp), 16<<10)}
		r, _, _, err := c.readResponse()
		if err == nil && (r.status < 100 || r.status > 999 || r.bytes > int64(len(resp))) {
			t.Fatalf("accepted %+v from %q", r, resp)
		}
	})
}

func TestH1RequestBytes(t *testing.T) {
	tests := []struct {
		name, url, method, proxy string
		wantLine, wantHost       string
		wantAddr                 string
	}{
		{"direct", "http://127.0.0.1:8000/a?b=1", "GET", "", "GET /a?b=1 HTTP/1.1\r\n", "Host: 127.0.0.1:8000\r\n", "127.0.0.1:8000"},
		{"default port", "http://localhost/", "GET", "", "GET / HTTP/1.1\r\n", "Host: localhost\r\n", "localhost:80"},
		{"proxy absolute-form", "http://127.0.0.1:8000/x", "GET", "http://u:p@127.0.0.1:8080", "GET http://127.0.0.1:8000/x HTTP/1.1\r\n", "Host: 127.0.0.1:8000\r\n", "127.0.0.1:8080"},
		{"post", "http://127.0.0.1:1/", "POST", "", "POST / HTTP/1.1\r\n", "Host: 127.0.0.1:1\r\n", "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h1For(t, tt.url, tt.method, tt.proxy)
			req := string(c.t.request)
			if !strings.HasPrefix(req, tt.wantLine) || !strings.Contains(req, tt.wantHost) || !strings.HasSuffix(req, "\r\n\r\n") || c.t.addr != tt.wantAddr {
				t.Fatalf("request %q to %s", req, c.t.addr)
			}
			if tt.proxy != "" && !strings.Contains(req, "Proxy-Authorization: Basic dTpw\r\n") {
				t.Fatalf("no proxy credentials in %q", req)
			}
			if tt.method == "POST" && !strings.Contains(req, "Content-Length: 0\r\n") {
				t.Fatalf("POST without Content-Length: %q", req)
			}
		})
	}
	// https through a proxy needs CONNECT: left to net/http.
	u, _ := url.Parse("https://127.0.0.1/")
	if _, ok, err := newH1Target(u, "GET", nil, "", "http://127.0.0.1:8080", false, time.Second); ok || err != nil {
		t.Fatalf("https via proxy: ok %v err %v", ok, err)
	}
}

func TestH1KeepAliveAndRetry(t *testing.T) {
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	t.Run("one connection", func(t *testing.T) {
		addr, conns, _ := cannedServer(t, 0, resp)
		c := h1For(t, "http://"+addr+"/", "GET", "")
		defer c.close()
		for range 20 {
			if r, err := c.do(time.Now()); err != nil || r.status != 200 {
				t.Fatalf("%+v %v", r, err)
			}
		}
		if conns.Load() != 1 {
			t.Fatalf("%d connections for 20 keep-alive requests", conns.Load())
		}
	})
	t.Run("server closes idle connections", func(t *testing.T) {
		// The server answers once per connection and closes without saying
		// so: the next request on the old connection fails before any
		// response byte and is retried on a new one.
		addr, conns, _ := cannedServer(t, 1, resp)
		c := h1For(t, "http://"+addr+"/", "GET", "")
		defer c.close()
		for i := range 5 {
			if r, err := c.do(time.Now()); err != nil || r.status != 200 {
				t.Fatalf("request %d: %+v %v", i, r, err)
			}
		}
		if conns.Load() != 5 {
			t.Fatalf("%d connections, want 5", conns.Load())
		}
	})
}

// TestH1VerdictNotCarriedOver: a response without a cache field gets no
// verdict, even right after one that had it on the same connection.
func TestH1VerdictNotCarriedOver(t *testing.T) {
	addr, _, _ := cannedServer(t, 0,
		"HTTP/1.1 200 OK\r\nX-Cache: HIT from proxy\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	c := h1For(t, "http://"+addr+"/quiet", "GET", "")
	defer c.close()
	for i, want := range []string{CacheHit, "", CacheHit} {
		r, err := c.do(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r.verdict != want {
			t.Fatalf("response %d: verdict %q, want %q", i, r.verdict, want)
		}
	}
}

// TestH1DeadlineRearm: the I/O deadline follows the requests, re-armed only
// once it lags by more than timeout/deadlineSlack, and set afresh on a new
// connection.
func TestH1DeadlineRearm(t *testing.T) {
	addr, _, _ := cannedServer(t, 0, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	c := h1For(t, "http://"+addr+"/quiet", "GET", "")
	defer c.close()
	timeout := c.t.timeout
	if _, err := c.do(time.Now()); err != nil { // dial first
		t.Fatal(err)
	}
	base := time.Now().Add(time.Second) // later than the deadline the dial set
	steps := []struct {
		at   time.Duration // request time after base
		want time.Duration // deadline after base
	}{
		{0, timeout},
		{timeout / (2 * deadlineSlack), timeout}, // within the slack: kept
		{timeout/deadlineSlack + time.Millisecond, timeout + timeout/deadlineSlack + time.Millisecond}, // past it: moved
	}
	for i, s := range steps {
		if _, err := c.do(base.Add(s.at)); err != nil {
			t.Fatal(err)
		}
		if got := c.deadline.Sub(base); got != s.want {
			t.Fatalf("step %d: deadline base+%v, want base+%v", i, got, s.want)
		}
	}
	c.close()
	early := time.Now().Add(-time.Hour)
	before := time.Now()
	if _, err := c.do(early); err != nil { // redial: the deadline comes from the clock after the dial
		t.Fatal(err)
	}
	if c.deadline.Before(before.Add(timeout)) {
		t.Fatalf("after a redial the deadline is %v before now+timeout", before.Add(timeout).Sub(c.deadline))
	}
}

// TestH1AllocsPerRequest proves the point of this client: a keep-alive
// request allocates nothing (the canned server allocates nothing either).
func TestH1AllocsPerRequest(t *testing.T) {
	addr, _, _ := cannedServer(t, 0, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 600\r\n\r\n"+strings.Repeat("x", 600))
	c := h1For(t, "http://"+addr+"/quiet", "GET", "")
	defer c.close()
	if _, err := c.do(time.Now()); err != nil { // dial outside the measurement
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := c.do(time.Now()); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%.1f allocations per request, want at most 1", allocs)
	}
}

func TestLoadUsesNetHTTPWhenAsked(t *testing.T) {
	addr, _, last := cannedServer(t, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tr, err := NewTransport(TransportConfig{Conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := runLoad(t, Config{Target: "http://" + addr + "/n", Clients: 2, Requests: 10, Transport: tr, Header: http.Header{"X-Probe": {"1"}}})
	if r.Successes != 10 || r.Bytes != 20 {
		t.Fatalf("%+v", r)
	}
	if req, _ := last.Load().(string); !strings.Contains(req, "X-Probe: 1") {
		t.Fatalf("header not sent: %q", req)
	}
}

// BenchmarkH1Request is one keep-alive request and response on loopback,
// against a canned server in the same process.
func BenchmarkH1Request(b *testing.B) {
	addr, _, _ := cannedServer(b, 0, "HTTP/1.1 200 OK\r\nContent-Length: 600\r\n\r\n"+strings.Repeat("x", 600))
	c := h1For(b, "http://"+addr+"/quiet", "GET", "")
	defer c.close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.do(time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
