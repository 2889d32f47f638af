package proxy

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Hostile clients against the proxy's connection cap and send timeout
// (issue 13 #3, #5); run them alone with go test -run Hostile.

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

// TestHostileProxyConnCap: 100 connections pushing unfinished header lines
// against a cap of 32 hold at most 32 slots, and a normal client is still
// served (its request is whole: it takes the place of the longest-waiting
// bomb).
func TestHostileProxyConnCap(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "origin") })
	u, _ := url.Parse(o.URL)
	const max = 32
	h := start(t, Config{Upstream: u, MaxConns: max, Grace: 100 * time.Millisecond})
	addr := strings.TrimPrefix(h.url, "http://")
	line := "X-Bomb: " + strings.Repeat("a", 16<<10) // no CRLF: never finished
	var bombs []net.Conn
	t.Cleanup(func() {
		for _, c := range bombs {
			c.Close()
		}
	})
	for i := range 100 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("bomb %d: %v", i, err)
		}
		bombs = append(bombs, c)
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"+line) // may fail once evicted
		if n := h.p.Stats().Conns.Open; n > max {
			t.Fatalf("%d connections held, cap %d", n, max)
		}
	}
	// Past the cap each newcomer either takes the place of the bomb
	// waiting longest (it sent a full segment's worth of header, which may
	// be the start of a long head) or is shed at accept.
	eventuallyConns(t, 10*time.Second, "the bombs never reached the cap", func() bool {
		st := h.p.Stats().Conns
		return st.Evicted+st.Shed >= 100-max
	})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(h.url + "/")
	if err != nil {
		t.Fatalf("normal client beside the bombs: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "origin" {
		t.Fatalf("normal client: %d %q", resp.StatusCode, b)
	}
	if st := h.p.Stats().Conns; st.Open > max || st.Evicted == 0 {
		t.Fatalf("%d connections held (cap %d), %d evicted: the normal client should have taken a bomb's place", st.Open, max, st.Evicted)
	}
}

// TestHostileProxySlowReaders: clients that ask for a large body and never
// read are closed after SendTimeout without progress, instead of holding
// their connections (and the upstream response) for ever.
func TestHostileProxySlowReaders(t *testing.T) {
	chunk := make([]byte, 64<<10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		for range 1024 { // 64 MiB, streamed
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	u, _ := url.Parse(o.URL)
	h := start(t, Config{Upstream: u, SendTimeout: 300 * time.Millisecond, Grace: 100 * time.Millisecond})
	addr := strings.TrimPrefix(h.url, "http://")
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	for i := range 20 {
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
	}
	eventuallyConns(t, 20*time.Second, "readers that stopped reading still hold their connections", func() bool { return h.p.Stats().Conns.Open == 0 })
	if st := h.p.Stats().Conns; st.SendTimeouts < 20 {
		t.Fatalf("%d send timeouts, want 20", st.SendTimeouts)
	}
}
