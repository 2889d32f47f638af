package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/netip"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// TestRangesFromStoredResponse covers RFC 9111 §3.4 with RFC 9110 §14: a
// stored complete response answers range requests with 206 itself.
func TestRangesFromStoredResponse(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Etag", `"v1"`)
		// The origin ignores Range: only the cache can answer with a part.
		r.Header.Del("Range")
		io.WriteString(w, "01234567890")
	})
	h := reverse(t, o)
	if r := h.get("/r"); r.verdict() != "MISS" || r.body != "01234567890" {
		t.Fatalf("fill: %s %q", r.verdict(), r.body)
	}
	tests := []struct {
		name         string
		req          []string
		status       int
		body         string
		contentRange string
	}{
		{"RFC9110§14.1.2 byte-range", []string{"Range", "bytes=0-1"}, 206, "01", "bytes 0-1/11"},
		{"RFC9110§14.1.2 open-ended", []string{"Range", "bytes=1-"}, 206, "1234567890", "bytes 1-10/11"},
		{"RFC9110§14.1.2 suffix", []string{"Range", "bytes=-1"}, 206, "0", "bytes 10-10/11"},
		{"RFC9110§14.2 several ranges: the full response", []string{"Range", "bytes=0-1, 4-5"}, 200, "01234567890", ""},
		{"RFC9110§15.5.17 unsatisfiable", []string{"Range", "bytes=20-"}, 416, "", "bytes */11"},
		{"RFC9110§14.2 bad syntax ignored", []string{"Range", "bytes=x-y"}, 200, "01234567890", ""},
		{"RFC9110§13.1.5 If-Range matches", []string{"Range", "bytes=2-3", "If-Range", `"v1"`}, 206, "23", "bytes 2-3/11"},
		{"RFC9110§13.1.5 If-Range differs: full response", []string{"Range", "bytes=2-3", "If-Range", `"v0"`}, 200, "01234567890", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.get("/r", tc.req...)
			if r.StatusCode != tc.status || r.body != tc.body || r.Header.Get("Content-Range") != tc.contentRange || r.verdict() != "HIT" {
				t.Fatalf("%d %q Content-Range %q %s; want %d %q %q HIT", r.StatusCode, r.body, r.Header.Get("Content-Range"), r.verdict(), tc.status, tc.body, tc.contentRange)
			}
		})
	}
	if n := o.hits.Load(); n != 1 {
		t.Errorf("origin hits %d: ranges went upstream", n)
	}
}

// TestInterimResponsesRelayed covers RFC 9110 §15.2: 1xx responses reach
// the client before the final response, and none of their fields is
// stored with it.
func TestInterimResponsesRelayed(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("X-Interim", "102")
		w.WriteHeader(http.StatusProcessing)
		w.Header().Del("X-Interim")
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "final")
	})
	h := reverse(t, o)
	type interim struct {
		code int
		h    textproto.MIMEHeader
	}
	fetch := func() ([]interim, resp) {
		var mu sync.Mutex
		var got []interim
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, hdr textproto.MIMEHeader) error {
			mu.Lock()
			got = append(got, interim{code, hdr})
			mu.Unlock()
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, h.url+"/hints", nil)
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		return got, resp{r, string(b)}
	}
	got, r := fetch()
	if len(got) != 2 || got[0].code != 103 || got[0].h.Get("Link") == "" || got[1].code != 102 || got[1].h.Get("X-Interim") != "102" {
		t.Fatalf("RFC9110§15.2 interim responses: %+v", got)
	}
	if got[1].h.Get("Link") != "" {
		t.Errorf("the 103's Link leaked into the 102: %v", got[1].h)
	}
	if r.body != "final" || r.Header.Get("Link") != "" || r.Header.Get("X-Interim") != "" {
		t.Fatalf("final response: %q, header %v", r.body, r.Header)
	}
	// The stored response carries none of the interim fields, and a hit
	// sends no interim response.
	got, r = fetch()
	if r.verdict() != "HIT" || len(got) != 0 || r.Header.Get("Link") != "" || r.Header.Get("X-Interim") != "" {
		t.Fatalf("RFC9111§3 hit: %s, interim %+v, header %v", r.verdict(), got, r.Header)
	}
}

// wsOrigin is a real WebSocket echo server; handshakes counts upgrades.
func wsOrigin(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	handshakes := new(atomic.Int64)
	echo := websocket.Server{Handler: func(c *websocket.Conn) {
		handshakes.Add(1)
		_, _ = io.Copy(c, c)
	}}
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	return srv, handshakes
}

// wsDial opens a WebSocket through the proxy at proxyAddr: origin-form
// (reverse) when absTarget is empty, else absolute-form to absTarget
// (forward proxy).
func wsDial(t *testing.T, proxyAddr, absTarget string) (*websocket.Conn, error) {
	t.Helper()
	cfg, err := websocket.NewConfig("ws://"+proxyAddr+"/echo", "http://127.0.0.1/")
	if err != nil {
		t.Fatal(err)
	}
	if absTarget != "" {
		// An opaque "//host/path" makes the request line absolute-form.
		u, _ := url.Parse(absTarget)
		cfg.Location = &url.URL{Scheme: "http", Host: u.Host, Opaque: "//" + u.Host + "/echo"}
	}
	conn, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ws, nil
}

// TestWebSocketThroughProxy covers RFC 9110 §7.8 and §15.2.2 with RFC 6455:
// an Upgrade is relayed, the 101 answered, and the connections spliced,
// reverse and forward; never cached; counted in the access log.
func TestWebSocketThroughProxy(t *testing.T) {
	srv, handshakes := wsOrigin(t)
	u, _ := url.Parse(srv.URL)
	for _, mode := range []string{"reverse", "forward"} {
		t.Run("RFC9110§7.8 "+mode, func(t *testing.T) {
			h := start(t, Config{Upstream: u})
			abs := ""
			if mode == "forward" {
				abs = srv.URL
			}
			before := handshakes.Load()
			for i := range 2 {
				ws, err := wsDial(t, strings.TrimPrefix(h.url, "http://"), abs)
				if err != nil {
					t.Fatalf("handshake %d: %v", i, err)
				}
				msg := strings.Repeat("hello ", 100)
				if err := websocket.Message.Send(ws, msg); err != nil {
					t.Fatal(err)
				}
				var got string
				if err := websocket.Message.Receive(ws, &got); err != nil || got != msg {
					t.Fatalf("echo: %q %v", got, err)
				}
				ws.Close()
				e := waitEntry(t, h, func(e AccessEntry) bool { return e.Status == http.StatusSwitchingProtocols })
				if e.Cache != "TUNNEL" || e.Bytes < int64(len(msg)) || !strings.Contains(e.CacheStatus, "detail=upgrade") {
					t.Fatalf("access log: %+v; want TUNNEL with at least %d bytes", e, len(msg))
				}
			}
			// Never cached: each handshake reached the origin.
			if n := handshakes.Load() - before; n != 2 {
				t.Errorf("origin saw %d handshakes, want 2", n)
			}
			if st := h.p.Stats(); st.Objects != 0 {
				t.Errorf("an upgrade was stored: %+v", st)
			}
		})
	}
	t.Run("RFC9110§7.8 destination check: reverse reaches the upstream, forward is refused", func(t *testing.T) {
		h := start(t, Config{Upstream: u, BlockLocalDest: true})
		ws, err := wsDial(t, strings.TrimPrefix(h.url, "http://"), "")
		if err != nil {
			t.Fatalf("reverse WebSocket to the configured upstream: %v", err)
		}
		// An echo proves the origin's handler has run (and counted the
		// handshake) before the counts below are taken: the client may
		// see the 101 before the origin's handler starts.
		var echo string
		if err := websocket.Message.Send(ws, "ping"); err != nil || websocket.Message.Receive(ws, &echo) != nil || echo != "ping" {
			t.Fatalf("reverse WebSocket echo: %q %v", echo, err)
		}
		ws.Close()
		before := handshakes.Load()
		if _, err := wsDial(t, strings.TrimPrefix(h.url, "http://"), srv.URL); err == nil {
			t.Fatal("a forward WebSocket reached a loopback destination past the check")
		}
		if handshakes.Load() != before {
			t.Error("a refused upgrade reached the origin")
		}
	})
	t.Run("RFC9110§7.8 --allow honoured", func(t *testing.T) {
		h := start(t, Config{Upstream: u, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		before := handshakes.Load()
		if _, err := wsDial(t, strings.TrimPrefix(h.url, "http://"), ""); err == nil {
			t.Fatal("a client outside --allow opened a WebSocket")
		}
		if handshakes.Load() != before {
			t.Error("a denied upgrade reached the origin")
		}
	})
	t.Run("RFC9110§15.2.2 origin refusing the upgrade", func(t *testing.T) {
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			http.Error(w, "no websockets here", http.StatusBadRequest)
		})
		ou, _ := url.Parse(o.URL)
		h := start(t, Config{Upstream: ou})
		for range 2 {
			if _, err := wsDial(t, strings.TrimPrefix(h.url, "http://"), ""); err == nil {
				t.Fatal("handshake succeeded against a plain origin")
			}
		}
		if o.hits.Load() != 2 {
			t.Errorf("origin hits %d, want 2: a refused upgrade must not be cached", o.hits.Load())
		}
	})
}

// waitEntry returns the next access-log entry matching ok (the log is
// written when the handler returns, after the client saw the end).
func waitEntry(t *testing.T, h *harness, ok func(AccessEntry) bool) AccessEntry {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-h.log:
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no matching access-log entry within 5s")
		}
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	zw.Close()
	return b.Bytes()
}

// chunk frames b as one chunk and the last chunk (RFC 9112 §7.1).
func chunk(b []byte) string {
	return strconv.FormatInt(int64(len(b)), 16) + "\r\n" + string(b) + "\r\n0\r\n\r\n"
}

// TestTransferCodingsOnTheWire covers RFC 9112 §6.1, §6.3 and §7 with
// RFC 9111 §3.1: transfer codings net/http's client rejects are handled on
// the wire, and Transfer-Encoding is never stored.
func TestTransferCodingsOnTheWire(t *testing.T) {
	const text = "the content, not its coding"
	gz := string(gzipped(t, text))
	head := "HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\n"
	tests := []struct {
		name   string
		reply  string
		body   string
		te     string // Transfer-Encoding the client sees
		stored bool
	}{
		{"RFC9112§7 gzip, chunked decoded", head + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunk([]byte(gz)), text, "", true},
		{"RFC9112§6.1 codings on two field lines", head + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk([]byte(gz)), text, "", true},
		{"RFC9112§6.3 gzip without chunked runs to the close", head + "Transfer-Encoding: gzip\r\n\r\n" + gz, text, "", true},
		{"RFC9112§6.3 Transfer-Encoding overrides Content-Length", head + "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n" + gz, text, "", true},
		{"RFC9112§6.1 identity is no coding", head + "Transfer-Encoding: identity\r\n\r\n" + text, text, "", true},
		{"RFC9112§6.1 unknown coding relayed as is, not stored", head + "Transfer-Encoding: x-socklab-test\r\n\r\n" + text, text, "x-socklab-test", false},
		{"RFC9111§3.1 a forged coding field is dropped", head + "Socklab-Transfer-Coding: gzip\r\nContent-Length: 27\r\n\r\n" + text, text, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, hits := rawOrigin(t, func(int) string { return tc.reply })
			u, _ := url.Parse("http://" + addr)
			h := start(t, Config{Upstream: u})
			// A raw client: net/http's would itself reject what an unknown
			// coding leaves on the response.
			raw := func() (string, string) {
				c, err := net.DialTimeout("tcp", strings.TrimPrefix(h.url, "http://"), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, "GET /te HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
				b, _ := io.ReadAll(c)
				head, body, _ := strings.Cut(string(b), "\r\n\r\n")
				return head, body
			}
			hd, body := raw()
			if !strings.HasPrefix(hd, "HTTP/1.1 200") {
				t.Fatalf("status line: %q", hd)
			}
			var te []string
			for _, l := range strings.Split(hd, "\r\n") {
				if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Transfer-Encoding") {
					te = append(te, strings.TrimSpace(v))
				}
			}
			got := body
			if slices.Contains(te, "chunked") {
				cr := httputil.NewChunkedReader(strings.NewReader(body))
				b, err := io.ReadAll(cr)
				if err != nil {
					t.Fatalf("chunked body: %v", err)
				}
				got = string(b)
			}
			if got != tc.body {
				t.Fatalf("body %q, want %q (head %q)", got, tc.body, hd)
			}
			if tc.te != "" && (len(te) == 0 || te[0] != tc.te) {
				t.Fatalf("Transfer-Encoding %q, want %q first", te, tc.te)
			}
			if strings.Contains(strings.ToLower(hd), "socklab-transfer-coding") {
				t.Fatalf("the private field leaked: %q", hd)
			}
			hd, _ = raw()
			wantHits := int64(1)
			if !tc.stored {
				wantHits = 2
			}
			if hits.Load() != wantHits {
				t.Fatalf("origin hits %d, want %d (stored %v)", hits.Load(), wantHits, tc.stored)
			}
			if tc.stored && strings.Contains(strings.ToLower(hd), "gzip") {
				t.Fatalf("a stored response kept its transfer coding: %q", hd)
			}
		})
	}
}

// TestTransferCodingOnReusedConnection: the rewrite works on keep-alive
// upstream connections, where net/http peeks for the next response before
// it writes the request.
func TestTransferCodingOnReusedConnection(t *testing.T) {
	const text = "decoded"
	gz := gzipped(t, text)
	var conns atomic.Int64
	o := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gz" {
			// net/http sends "Transfer-Encoding: gzip" then its own
			// "Transfer-Encoding: chunked" line.
			w.Header().Set("Transfer-Encoding", "gzip")
			w.Write(gz)
			return
		}
		io.WriteString(w, "plain")
	}))
	o.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	o.Start()
	t.Cleanup(o.Close)
	u, _ := url.Parse(o.URL)
	h := start(t, Config{Upstream: u})
	for i, path := range []string{"/plain", "/gz", "/plain", "/gz"} {
		r := h.get(path)
		want := map[string]string{"/plain": "plain", "/gz": text}[path]
		if r.StatusCode != 200 || r.body != want {
			t.Fatalf("request %d %s: %d %q", i, path, r.StatusCode, r.body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("upstream connections %d, want 1 (reused)", n)
	}
}

// rangeOrigin serves "0123456789" with real range support (ServeContent)
// under the ETag in etag ("" for none), recording the Range and If-Range
// of each request.
type rangeOrigin struct {
	*origin
	mu      sync.Mutex
	etag    string
	ranges  []string
	ifRange []string
}

func newRangeOrigin(t *testing.T, etag string) *rangeOrigin {
	ro := &rangeOrigin{etag: etag}
	ro.origin = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		ro.mu.Lock()
		ro.ranges = append(ro.ranges, r.Header.Get("Range"))
		ro.ifRange = append(ro.ifRange, r.Header.Get("If-Range"))
		etag := ro.etag
		ro.mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=3600")
		if etag != "" {
			w.Header().Set("Etag", etag)
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader("0123456789"))
	})
	return ro
}

func (ro *rangeOrigin) last() (rng, ifRange string) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	return ro.ranges[len(ro.ranges)-1], ro.ifRange[len(ro.ifRange)-1]
}

// TestPartialResponsesStoredCombinedCompleted covers RFC 9111 §3.3 and
// §3.4: 206 responses are stored, serve the ranges they hold, combine with
// each other, and a stored part is completed by asking for the rest.
func TestPartialResponsesStoredCombinedCompleted(t *testing.T) {
	type req struct {
		rng, verdict string
		status       int
		body         string
		hits         int64
		upRange      string // the Range the origin saw last ("-": unchecked)
	}
	tests := []struct {
		name  string
		etag  string
		steps []req
	}{
		{"RFC9111§3.3 a stored part serves the ranges it holds", `"v1"`, []req{
			{"bytes=-5", "MISS", 206, "56789", 1, "bytes=-5"},
			{"bytes=-5", "HIT", 206, "56789", 1, "-"},
			{"bytes=6-8", "HIT", 206, "678", 1, "-"},
			{"bytes=6-", "HIT", 206, "6789", 1, "-"},
			{"bytes=-1", "HIT", 206, "9", 1, "-"},
			{"bytes=2-6", "MISS", 206, "23456", 2, "bytes=2-6"},
		}},
		{"RFC9111§3.4 parts combine into the whole", `"v1"`, []req{
			{"bytes=5-9", "MISS", 206, "56789", 1, "bytes=5-9"},
			{"bytes=0-4", "MISS", 206, "01234", 2, "bytes=0-4"},
			{"", "HIT", 200, "0123456789", 2, "-"},
			{"bytes=3-6", "HIT", 206, "3456", 2, "-"},
		}},
		{"RFC9111§3.4 a part is completed with a range request for the rest", `"v1"`, []req{
			{"bytes=0-3", "MISS", 206, "0123", 1, "bytes=0-3"},
			{"", "MISS", 200, "0123456789", 2, "bytes=4-"},
			{"", "HIT", 200, "0123456789", 2, "-"},
		}},
		{"RFC9111§3.4 a trailing part is completed from the start", `"v1"`, []req{
			{"bytes=-3", "MISS", 206, "789", 1, "bytes=-3"},
			{"", "MISS", 200, "0123456789", 2, "bytes=0-6"},
			{"", "HIT", 200, "0123456789", 2, "-"},
		}},
		{"RFC9111§3.4 no strong validator: the whole is fetched", "", []req{
			{"bytes=0-3", "MISS", 206, "0123", 1, "bytes=0-3"},
			{"", "MISS", 200, "0123456789", 2, ""},
			{"", "HIT", 200, "0123456789", 2, "-"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ro := newRangeOrigin(t, tc.etag)
			h := reverse(t, ro.origin)
			for i, s := range tc.steps {
				var r resp
				if s.rng == "" {
					r = h.get("/p")
				} else {
					r = h.get("/p", "Range", s.rng)
				}
				if r.StatusCode != s.status || r.body != s.body || r.verdict() != s.verdict || ro.hits.Load() != s.hits {
					t.Fatalf("step %d (%q): %d %q %s hits %d (%q); want %d %q %s %d", i, s.rng, r.StatusCode, r.body, r.verdict(), ro.hits.Load(), r.status(), s.status, s.body, s.verdict, s.hits)
				}
				if got, _ := ro.last(); s.upRange != "-" && got != s.upRange {
					t.Fatalf("step %d: the origin saw Range %q, want %q", i, got, s.upRange)
				}
			}
		})
	}
}

// TestPartialCompletionOfAChangedRepresentation: If-Range makes a changed
// representation come back whole, and that is what is served and stored.
func TestPartialCompletionOfAChangedRepresentation(t *testing.T) {
	ro := newRangeOrigin(t, `"v1"`)
	h := reverse(t, ro.origin)
	h.get("/p", "Range", "bytes=0-3")
	ro.mu.Lock()
	ro.etag = `"v2"`
	ro.mu.Unlock()
	r := h.get("/p")
	if rng, ifRange := ro.last(); rng != "bytes=4-" || ifRange != `"v1"` {
		t.Fatalf("completion request: Range %q If-Range %q", rng, ifRange)
	}
	if r.StatusCode != 200 || r.body != "0123456789" || r.Header.Get("Etag") != `"v2"` {
		t.Fatalf("RFC9110§13.1.5 changed representation: %d %q %s", r.StatusCode, r.body, r.Header.Get("Etag"))
	}
	if r := h.get("/p"); r.verdict() != "HIT" || r.Header.Get("Etag") != `"v2"` || ro.hits.Load() != 2 {
		t.Fatalf("after: %s %s hits %d", r.verdict(), r.Header.Get("Etag"), ro.hits.Load())
	}
}

// TestOtherUpgradesAreDeclined: an Upgrade offer other than WebSocket
// (curl --http2 sends h2c) is a hop-by-hop offer the proxy declines; the
// request is served, and cached, as usual.
func TestOtherUpgradesAreDeclined(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=60"))
	h := reverse(t, o)
	for i, want := range []string{"MISS", "HIT"} {
		r := h.get("/h2c", "Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")
		if r.StatusCode != 200 || r.verdict() != want {
			t.Fatalf("request %d: %d %s, want 200 %s", i, r.StatusCode, r.verdict(), want)
		}
	}
	if o.lastHeader("Upgrade") != "" {
		t.Error("a declined Upgrade was forwarded")
	}
}
