package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingOrigin is an origin that counts the connections its requests
// came on (their distinct client addresses).
func countingOrigin(t *testing.T, h http.HandlerFunc) (*origin, func() int) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]bool{}
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.RemoteAddr] = true
		mu.Unlock()
		h(w, r)
	})
	return o, func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
}

// Misses one after another reuse one upstream connection: a body read to
// its end gives it back to the pool.
func TestUpstreamKeepAlive(t *testing.T) {
	o, conns := countingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/chunked" {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "body "+r.URL.Path)
	})
	h := reverse(t, o)
	for i, path := range []string{"/1", "/chunked", "/2", "/chunked", "/3"} {
		if r := h.get(path); r.StatusCode != http.StatusOK || !strings.HasSuffix(r.body, "body "+path) {
			t.Fatalf("request %d: %d %q", i, r.StatusCode, r.body)
		}
	}
	if n := conns(); n != 1 {
		t.Errorf("%d upstream connections for 5 sequential misses, want 1", n)
	}
}

// An upstream that closes a kept-alive connection without saying so (a
// keep-alive timeout on its side) costs no failed request: the exchange
// is retried once on a new connection, as http.Transport does for GET.
func TestUpstreamStaleConnRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() { // one response per connection, then the close, unannounced
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\nok")
			}
			c.Close()
		}
	}()
	u, _ := url.Parse("http://" + ln.Addr().String())
	h := start(t, Config{Upstream: u})
	for i := range 3 {
		if r := h.get("/s"); r.StatusCode != http.StatusOK || r.body != "ok" {
			t.Fatalf("request %d: %d %q, want 200 \"ok\"", i, r.StatusCode, r.body)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d upstream connections, want 3 (one per request)", n)
	}
}

// An HTTP/1.1 client that goes away while its miss waits for the origin
// ends the upstream exchange too (the origin's request context ends), and
// the log says 499; nothing is cached.
func TestUpstreamCancelledWithClient(t *testing.T) {
	arrived, gone := make(chan struct{}, 1), make(chan struct{}, 1)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			select {
			case <-r.Context().Done():
				gone <- struct{}{}
				return
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
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	<-arrived
	c.Close()
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the origin's request went on after the client left")
	}
	wantClientClosedLogged(t, h.log)
	if r := h.get("/slow2"); r.verdict() != "MISS" || r.body != "full" {
		t.Errorf("next request: %s %q", r.verdict(), r.body)
	}
}

// The idle pool keeps at most MaxIdleConnsPerHost connections per host and
// MaxIdleConns in all, and a sweep closes those idle past IdleConnTimeout.
func TestUpstreamIdleBounds(t *testing.T) {
	next := &http.Transport{MaxIdleConnsPerHost: 2, MaxIdleConns: 3, IdleConnTimeout: time.Minute}
	st := newSyncTransport(next, nil, 1<<10)
	var closed atomic.Int64
	conn := func() *upConn {
		a, b := net.Pipe()
		t.Cleanup(func() { b.Close() })
		return &upConn{c: &closeCounter{Conn: a, n: &closed}}
	}
	for _, addr := range []string{"a:80", "a:80", "a:80", "b:80", "c:80"} {
		st.put(addr, conn())
	}
	// a keeps 2 (the third closed), b 1, and c would be the fourth: closed.
	if st.nIdle != 3 || len(st.idle["a:80"]) != 2 || len(st.idle["b:80"]) != 1 || closed.Load() != 2 {
		t.Fatalf("idle %d (a %d, b %d), closed %d; want 3 (2, 1), 2 closed", st.nIdle, len(st.idle["a:80"]), len(st.idle["b:80"]), closed.Load())
	}
	if uc, reused, err := st.get(context.Background(), "a:80", false); err != nil || !reused || uc == nil || st.nIdle != 2 {
		t.Fatalf("get: reused %v err %v, idle %d", reused, err, st.nIdle)
	}
	st.mu.Lock()
	st.sweep(time.Now().Add(2 * time.Minute))
	st.mu.Unlock()
	if st.nIdle != 0 || len(st.idle) != 0 || closed.Load() != 4 {
		t.Errorf("after the sweep: idle %d, hosts %d, closed %d; want 0, 0, 4", st.nIdle, len(st.idle), closed.Load())
	}
}

type closeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c *closeCounter) Close() error { c.n.Add(1); return c.Conn.Close() }
