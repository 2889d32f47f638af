package proxy

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunked encodes body as chunks of size n.
func chunked(body string, n int) string {
	var b strings.Builder
	for len(body) > 0 {
		k := min(n, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", k, body[:k])
		body = body[k:]
	}
	return b.String() + "0\r\n\r\n"
}

// A chunked body is checked whole before anything reaches the origin: a
// bad chunk size in the third chunk is a 400 and the origin sees nothing,
// not a head and a cut body. A good one reaches the origin with a
// Content-Length, byte for byte, also when it is too big to stay in
// memory; one over the limit is a 413.
func TestHostileChunkedBodyBuffered(t *testing.T) {
	var mu sync.Mutex
	var got struct {
		te  []string
		cl  int64
		sum [32]byte
		n   int
		exp string
	}
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		mu.Lock()
		got.te, got.cl, got.sum, got.n, got.exp = r.TransferEncoding, r.ContentLength, sha256.Sum256(b), len(b), r.Header.Get("Expect")
		mu.Unlock()
		if err != nil {
			t.Errorf("origin read: %v", err)
		}
		io.WriteString(w, "ok")
	})
	u, err := url.Parse(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, Config{Upstream: u, MaxChunkedBody: 1 << 20})
	addr := strings.TrimPrefix(h.url, "http://")
	const head = "POST /up HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"

	bad := head + "\r\n5\r\nhello\r\n5\r\nworld\r\nzz\r\nagain\r\n0\r\n\r\n"
	if status, body, _, closed := exchange(t, addr, bad); status != http.StatusBadRequest || !closed {
		t.Errorf("bad third chunk: %d %q closed %v, want 400 and closed", status, body, closed)
	}
	if n := o.hits.Load(); n != 0 {
		t.Fatalf("the origin saw %d request(s) of a body with a bad third chunk", n)
	}
	// The same with the bad chunk a second late: a streaming proxy has
	// sent the head by then (net/http flushes it when the body stalls for
	// 200 ms), and the origin has begun the request.
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, head+"\r\n5\r\nhello\r\n5\r\nworld\r\n")
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && o.hits.Load() == 0; {
		time.Sleep(10 * time.Millisecond) // a bounded look for what must not happen
	}
	io.WriteString(c, "zz\r\nagain\r\n0\r\n\r\n")
	if r, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad third chunk a second late: %v %v, want 400", r, err)
	}
	if n := o.hits.Load(); n != 0 {
		t.Fatalf("the origin saw the head of a body whose third chunk was bad")
	}

	for _, size := range []int{10, 100 << 10} { // in memory; past bodyMemory, in a file
		body := strings.Repeat("0123456789abcdef", size/16+1)[:size]
		status, resp, _, _ := exchange(t, addr, head+"Expect: 100-continue\r\n\r\n"+chunked(body, 4000))
		mu.Lock()
		g := got
		mu.Unlock()
		if status != http.StatusOK || resp != "ok" || g.te != nil || g.cl != int64(size) || g.n != size || g.exp != "" {
			t.Errorf("%d-byte chunked body: %d %q; origin saw TE %q, Content-Length %d, %d bytes, Expect %q",
				size, status, resp, g.te, g.cl, g.n, g.exp)
		}
		if g.sum != sha256.Sum256([]byte(body)) {
			t.Errorf("%d-byte chunked body: the origin got other bytes", size)
		}
	}

	hits := o.hits.Load()
	big := strings.Repeat("x", 1<<20+1)
	if status, _, _, closed := exchange(t, addr, head+"\r\n"+chunked(big, 32<<10)); status != http.StatusRequestEntityTooLarge || !closed {
		t.Errorf("body over the limit: %d closed %v, want 413 and closed", status, closed)
	}
	if o.hits.Load() != hits {
		t.Error("a body over the limit reached the origin")
	}
}
