package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// clock is a fake time source the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cachedOrigin is an origin that answers every request with body, fresh
// for 60 s (Cache-Control: max-age=60).
func cachedOrigin(t *testing.T, body string) *origin {
	t.Helper()
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, body)
	})
}

// origin is an httptest server that counts its requests.
type origin struct {
	*httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex
	last  *http.Request // headers of the latest request
	clock *clock        // when set, the origin's Date comes from it
}

func newOrigin(t *testing.T, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		o.last = r.Clone(context.Background())
		c := o.clock
		o.mu.Unlock()
		if c != nil {
			w.Header().Set("Date", httpcache.FormatHTTPDate(c.Now()))
		}
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) lastHeader(name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil {
		return ""
	}
	return o.last.Header.Get(name)
}

// harness is a running proxy in front of an origin.
type harness struct {
	t     *testing.T
	p     *Proxy
	url   string // http://proxy-addr
	clock *clock
	store *MemoryStore
	log   chan AccessEntry
}

// start runs a proxy with cfg; a nil Store gets a 1 MiB memory store and a
// nil Now the harness clock.
func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), log: make(chan AccessEntry, 1000)}
	if cfg.Store == nil {
		s, err := NewMemoryStore(1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		h.store = s
		cfg.Store = s
	} else if ms, ok := cfg.Store.(*MemoryStore); ok {
		h.store = ms
	}
	if cfg.Now == nil {
		cfg.Now = h.clock.Now
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = func(e AccessEntry) {
			select {
			case h.log <- e:
			default:
			}
		}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.p = p
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// reverse starts a caching reverse proxy in front of o.
func reverse(t *testing.T, o *origin) *harness {
	t.Helper()
	u, _ := url.Parse(o.URL)
	h := start(t, Config{Upstream: u})
	o.mu.Lock()
	o.clock = h.clock
	o.mu.Unlock()
	return h
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// resp is a response read in full.
type resp struct {
	*http.Response
	body string
}

// do sends method path through the proxy with header pairs kv.
func (h *harness) do(method, path string, kv ...string) resp {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	r, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		h.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	checkMarked(h.t, r)
	return resp{r, string(b)}
}

func (h *harness) get(path string, kv ...string) resp {
	h.t.Helper()
	return h.do(http.MethodGet, path, kv...)
}

// checkMarked asserts the fields every proxy response carries.
func checkMarked(t *testing.T, r *http.Response) {
	t.Helper()
	if !strings.HasPrefix(r.Header.Get("Cache-Status"), "socklab") {
		t.Errorf("%s: Cache-Status = %q", r.Request.URL, r.Header.Get("Cache-Status"))
	}
	if xc := r.Header.Get("X-Cache"); xc != "HIT" && xc != "MISS" {
		t.Errorf("%s: X-Cache = %q", r.Request.URL, xc)
	}
	if r.Header.Get("Age") == "" {
		t.Errorf("%s: no Age", r.Request.URL)
	}
}

func (r resp) verdict() string { return r.Header.Get("X-Cache") }
func (r resp) status() string  { return r.Header.Get("Cache-Status") }

// waitFor polls cond for up to 5 s: for effects of background work with no
// hook to wait on (an origin request made by a goroutine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
