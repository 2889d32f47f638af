package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// static answers with the header pairs kv and body "hello #N"; with an
// ETag it answers a matching If-None-Match with 304.
func static(o **origin, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Add(kv[i], kv[i+1])
		}
		if etag := w.Header().Get("Etag"); etag != "" && r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "hello #%d", (*o).hits.Load())
	}
}

type step struct {
	advance    time.Duration
	req        []string // request header pairs
	verdict    string   // X-Cache
	hits       int64    // origin requests so far
	status     int      // 0: 200
	csContains string   // substring of Cache-Status
	absent     string   // a response field that must be missing
	present    string   // a response field that must be there
}

func runSteps(t *testing.T, h *harness, o *origin, path string, steps []step) {
	t.Helper()
	for i, s := range steps {
		h.clock.Advance(s.advance)
		r := h.get(path, s.req...)
		want := s.status
		if want == 0 {
			want = 200
		}
		if r.StatusCode != want || r.verdict() != s.verdict || o.hits.Load() != s.hits {
			t.Fatalf("step %d: status %d X-Cache %s origin hits %d (Cache-Status %q); want %d %s %d", i, r.StatusCode, r.verdict(), o.hits.Load(), r.status(), want, s.verdict, s.hits)
		}
		if s.csContains != "" && !strings.Contains(r.status(), s.csContains) {
			t.Errorf("step %d: Cache-Status %q lacks %q", i, r.status(), s.csContains)
		}
		if s.absent != "" && r.Header.Get(s.absent) != "" {
			t.Errorf("step %d: %s present: %q", i, s.absent, r.Header.Get(s.absent))
		}
		if s.present != "" && r.Header.Get(s.present) == "" {
			t.Errorf("step %d: %s missing", i, s.present)
		}
	}
}

func TestDirectives(t *testing.T) {
	lastMod := httpcache.FormatHTTPDate(time.Now().Add(-10 * time.Hour))
	tests := []struct {
		name  string
		resp  []string
		steps []step
	}{
		{"max-age fresh then stale", []string{"Cache-Control", "max-age=60"}, []step{
			{verdict: "MISS", hits: 1, csContains: "fwd=uri-miss; fwd-status=200; stored; ttl=60"},
			{advance: 30 * time.Second, verdict: "HIT", hits: 1, csContains: "hit; ttl=30"},
			{advance: 31 * time.Second, verdict: "MISS", hits: 2, csContains: "fwd=stale"},
		}},
		{"s-maxage beats max-age", []string{"Cache-Control", "max-age=0, s-maxage=60"}, []step{
			{verdict: "MISS", hits: 1}, {advance: 10 * time.Second, verdict: "HIT", hits: 1},
		}},
		{"no-store", []string{"Cache-Control", "no-store, max-age=60"}, []step{
			{verdict: "MISS", hits: 1, csContains: "detail=no-store"}, {verdict: "MISS", hits: 2},
		}},
		{"private", []string{"Cache-Control", "private, max-age=60"}, []step{
			{verdict: "MISS", hits: 1, csContains: "detail=private"}, {verdict: "MISS", hits: 2},
		}},
		{"private with field names", []string{"Cache-Control", `private="X-User", max-age=60`, "X-User", "bob"}, []step{
			{verdict: "MISS", hits: 1, present: "X-User"}, {verdict: "HIT", hits: 1, absent: "X-User"},
		}},
		{"public", []string{"Cache-Control", "public, max-age=60"}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "HIT", hits: 1},
		}},
		{"no-cache revalidates every time", []string{"Cache-Control", "no-cache", "Etag", `"v1"`}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "HIT", hits: 2, csContains: "fwd=stale; fwd-status=304"},
		}},
		{"no-cache with field names", []string{"Cache-Control", `no-cache="X-Token", max-age=60`, "X-Token", "t"}, []step{
			{verdict: "MISS", hits: 1, present: "X-Token"}, {verdict: "HIT", hits: 1, absent: "X-Token"},
		}},
		{"must-revalidate when stale", []string{"Cache-Control", "max-age=10, must-revalidate", "Etag", `"v1"`}, []step{
			{verdict: "MISS", hits: 1},
			{advance: 20 * time.Second, req: []string{"Cache-Control", "max-stale=100"}, verdict: "HIT", hits: 2, csContains: "fwd-status=304"},
		}},
		{"proxy-revalidate when stale", []string{"Cache-Control", "max-age=10, proxy-revalidate", "Etag", `"v1"`}, []step{
			{verdict: "MISS", hits: 1},
			{advance: 20 * time.Second, req: []string{"Cache-Control", "max-stale"}, verdict: "HIT", hits: 2, csContains: "fwd-status=304"},
		}},
		{"Expires", []string{"Expires", httpcache.FormatHTTPDate(time.Now().Add(time.Hour))}, []step{
			{verdict: "MISS", hits: 1}, {advance: 30 * time.Minute, verdict: "HIT", hits: 1},
		}},
		{"invalid Expires is stale", []string{"Expires", "0", "Last-Modified", lastMod}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "MISS", hits: 2},
		}},
		{"heuristic freshness", []string{"Last-Modified", lastMod}, []step{
			{verdict: "MISS", hits: 1, csContains: "ttl=3600"}, {advance: 30 * time.Minute, verdict: "HIT", hits: 1},
			{advance: 31 * time.Minute, verdict: "MISS", hits: 2},
		}},
		{"no freshness, no validator", nil, []step{
			{verdict: "MISS", hits: 1}, {verdict: "MISS", hits: 2},
		}},
		{"immutable ignores a reload", []string{"Cache-Control", "max-age=60, immutable"}, []step{
			{verdict: "MISS", hits: 1}, {req: []string{"Cache-Control", "max-age=0"}, verdict: "HIT", hits: 1},
		}},
		{"request max-age", []string{"Cache-Control", "max-age=60"}, []step{
			{verdict: "MISS", hits: 1},
			{advance: 20 * time.Second, req: []string{"Cache-Control", "max-age=30"}, verdict: "HIT", hits: 1},
			{req: []string{"Cache-Control", "max-age=10"}, verdict: "MISS", hits: 2, csContains: "fwd=request"},
		}},
		{"request max-stale", []string{"Cache-Control", "max-age=10"}, []step{
			{verdict: "MISS", hits: 1},
			{advance: 30 * time.Second, req: []string{"Cache-Control", "max-stale=30"}, verdict: "HIT", hits: 1, csContains: "detail=max-stale"},
			{req: []string{"Cache-Control", "max-stale=5"}, verdict: "MISS", hits: 2},
		}},
		{"request min-fresh", []string{"Cache-Control", "max-age=60"}, []step{
			{verdict: "MISS", hits: 1},
			{advance: 30 * time.Second, req: []string{"Cache-Control", "min-fresh=20"}, verdict: "HIT", hits: 1},
			{req: []string{"Cache-Control", "min-fresh=40"}, verdict: "MISS", hits: 2},
		}},
		{"request no-cache", []string{"Cache-Control", "max-age=60"}, []step{
			{verdict: "MISS", hits: 1}, {req: []string{"Cache-Control", "no-cache"}, verdict: "MISS", hits: 2, csContains: "fwd=request"},
		}},
		{"request Pragma no-cache", []string{"Cache-Control", "max-age=60"}, []step{
			{verdict: "MISS", hits: 1}, {req: []string{"Pragma", "no-cache"}, verdict: "MISS", hits: 2},
			{req: []string{"Pragma", "no-cache", "Cache-Control", "max-age=100"}, verdict: "HIT", hits: 2},
		}},
		{"request no-store", []string{"Cache-Control", "max-age=60"}, []step{
			{req: []string{"Cache-Control", "no-store"}, verdict: "MISS", hits: 1},
			{verdict: "MISS", hits: 2}, {req: []string{"Cache-Control", "no-store"}, verdict: "HIT", hits: 2},
		}},
		{"only-if-cached", []string{"Cache-Control", "max-age=60"}, []step{
			{req: []string{"Cache-Control", "only-if-cached"}, verdict: "MISS", hits: 0, status: 504},
			{verdict: "MISS", hits: 1},
			{req: []string{"Cache-Control", "only-if-cached"}, verdict: "HIT", hits: 1},
		}},
		{"Authorization needs permission", []string{"Cache-Control", "max-age=60"}, []step{
			{req: []string{"Authorization", "Bearer a"}, verdict: "MISS", hits: 1, csContains: "detail=authorization"},
			{req: []string{"Authorization", "Bearer a"}, verdict: "MISS", hits: 2},
			{verdict: "MISS", hits: 3}, {verdict: "HIT", hits: 3},
			{req: []string{"Authorization", "Bearer a"}, verdict: "MISS", hits: 4, csContains: "fwd=miss"},
		}},
		{"Authorization with public", []string{"Cache-Control", "public, max-age=60"}, []step{
			{req: []string{"Authorization", "Bearer a"}, verdict: "MISS", hits: 1},
			{req: []string{"Authorization", "Bearer b"}, verdict: "HIT", hits: 1},
		}},
		{"Authorization with s-maxage", []string{"Cache-Control", "s-maxage=60"}, []step{
			{req: []string{"Authorization", "Bearer a"}, verdict: "MISS", hits: 1},
			{req: []string{"Authorization", "Bearer a"}, verdict: "HIT", hits: 1},
		}},
		{"Authorization with must-revalidate", []string{"Cache-Control", "max-age=60, must-revalidate"}, []step{
			{req: []string{"Authorization", "Bearer a"}, verdict: "MISS", hits: 1},
			{req: []string{"Authorization", "Bearer a"}, verdict: "HIT", hits: 1},
		}},
		{"Vary star never reused", []string{"Cache-Control", "max-age=60", "Vary", "Accept", "Vary", "*"}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "MISS", hits: 2},
		}},
		{"client conditional answered from cache", []string{"Cache-Control", "max-age=60", "Etag", `"v9"`}, []step{
			{req: []string{"If-None-Match", `"v9"`}, verdict: "MISS", hits: 1, status: 304},
			{req: []string{"If-None-Match", `"v9"`}, verdict: "HIT", hits: 1, status: 304},
			{verdict: "HIT", hits: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o *origin
			o = newOrigin(t, static(&o, tc.resp...))
			h := reverse(t, o)
			runSteps(t, h, o, "/x", tc.steps)
		})
	}
}

func TestStaleWhileRevalidateRefreshes(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=10, stale-while-revalidate=60"))
	h := reverse(t, o)
	if r := h.get("/x"); r.body != "hello #1" {
		t.Fatalf("first body %q", r.body)
	}
	h.clock.Advance(20 * time.Second)
	if r := h.get("/x"); r.verdict() != "HIT" || r.body != "hello #1" || !strings.Contains(r.status(), "detail=stale-while-revalidate") {
		t.Fatalf("stale-while-revalidate: %s %q %q", r.verdict(), r.body, r.status())
	}
	waitFor(t, "background revalidation", func() bool { return o.hits.Load() == 2 })
	h.p.bg.Wait()
	if r := h.get("/x"); r.verdict() != "HIT" || r.body != "hello #2" || o.hits.Load() != 2 {
		t.Fatalf("after background refresh: %s %q hits %d", r.verdict(), r.body, o.hits.Load())
	}
}

func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name       string
		cc         string
		down       bool // origin closed instead of answering 503
		wantStatus int
		wantBody   string
	}{
		{"503 within window", "max-age=10, stale-if-error=60", false, 200, "hello #1"},
		{"origin down within window", "max-age=10, stale-if-error=60", true, 200, "hello #1"},
		{"past the window", "max-age=10, stale-if-error=5", false, 503, "down"},
		{"must-revalidate forbids it", "max-age=10, stale-if-error=60, must-revalidate", false, 503, "down"},
		{"must-revalidate with origin down", "max-age=10, stale-if-error=60, must-revalidate", true, 504, "must be revalidated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o *origin
			broken := false
			o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if broken {
					http.Error(w, "down", http.StatusServiceUnavailable)
					return
				}
				static(&o, "Cache-Control", tc.cc)(w, r)
			})
			h := reverse(t, o)
			h.get("/x")
			broken = true
			if tc.down {
				o.Close()
			}
			h.clock.Advance(20 * time.Second)
			r := h.get("/x")
			if r.StatusCode != tc.wantStatus || !strings.Contains(r.body, tc.wantBody) {
				t.Fatalf("got %d %q (Cache-Status %q), want %d %q", r.StatusCode, r.body, r.status(), tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == 200 && !strings.Contains(r.status(), "fwd=stale") {
				t.Errorf("Cache-Status %q", r.status())
			}
		})
	}
}

func TestVary(t *testing.T) {
	var o *origin
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		fmt.Fprintf(w, "enc=%s #%d", r.Header.Get("Accept-Encoding"), o.hits.Load())
	})
	h := reverse(t, o)
	steps := []struct {
		enc, verdict, body, cs string
	}{
		{"gzip", "MISS", "enc=gzip #1", "fwd=uri-miss"},
		{"gzip", "HIT", "enc=gzip #1", "hit"},
		{"br", "MISS", "enc=br #2", "fwd=vary-miss"},
		{"br", "HIT", "enc=br #2", "hit"},
		{"gzip", "HIT", "enc=gzip #1", "hit"},
	}
	for i, s := range steps {
		r := h.get("/v", "Accept-Encoding", s.enc)
		if r.verdict() != s.verdict || r.body != s.body || !strings.Contains(r.status(), s.cs) {
			t.Fatalf("step %d: %s %q %q; want %s %q %q", i, r.verdict(), r.body, r.status(), s.verdict, s.body, s.cs)
		}
	}
	// A purge drops every variant.
	if r := h.do("PURGE", "/v"); r.StatusCode != 200 {
		t.Fatalf("PURGE: %d", r.StatusCode)
	}
	if r := h.get("/v", "Accept-Encoding", "br"); r.verdict() != "MISS" {
		t.Fatalf("after purge: %s", r.verdict())
	}
}

func TestRevalidation304UpdatesHeaders(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.Header().Set("Cache-Control", "max-age=100")
			w.Header().Set("X-Version", "2")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("X-Version", "1")
		fmt.Fprint(w, "body one")
	})
	h := reverse(t, o)
	h.get("/r")
	h.clock.Advance(20 * time.Second)
	r := h.get("/r")
	if r.body != "body one" || r.Header.Get("X-Version") != "2" || o.hits.Load() != 2 || o.lastHeader("If-None-Match") != `"v1"` {
		t.Fatalf("revalidated: %q X-Version %q hits %d INM %q", r.body, r.Header.Get("X-Version"), o.hits.Load(), o.lastHeader("If-None-Match"))
	}
	h.clock.Advance(50 * time.Second)
	r = h.get("/r")
	if r.verdict() != "HIT" || r.Header.Get("X-Version") != "2" || o.hits.Load() != 2 {
		t.Fatalf("after the 304 the new max-age must hold: %s %q hits %d", r.verdict(), r.Header.Get("X-Version"), o.hits.Load())
	}
	if st := h.p.Stats(); st.Revalidated != 1 {
		t.Errorf("revalidated = %d", st.Revalidated)
	}
}

func TestHeadUpdatesGet(t *testing.T) {
	etag := `"v1"`
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Etag", etag)
		w.Header().Set("Cache-Control", "max-age=10")
		if r.Method == http.MethodHead {
			w.Header().Set("Cache-Control", "max-age=100")
			w.Header().Set("X-Head", "yes")
			w.Header().Set("Content-Length", "5")
			return
		}
		fmt.Fprint(w, "hello")
	})
	h := reverse(t, o)
	h.get("/h")
	if r := h.do(http.MethodHead, "/h"); r.verdict() != "HIT" || o.hits.Load() != 1 {
		t.Fatalf("fresh HEAD must be served from the GET entry: %s hits %d", r.verdict(), o.hits.Load())
	}
	h.clock.Advance(20 * time.Second)
	if r := h.do(http.MethodHead, "/h"); o.hits.Load() != 2 || r.Header.Get("X-Head") != "yes" {
		t.Fatalf("stale HEAD goes upstream: hits %d", o.hits.Load())
	}
	r := h.get("/h")
	if r.verdict() != "HIT" || r.Header.Get("X-Head") != "yes" || r.body != "hello" || o.hits.Load() != 2 {
		t.Fatalf("GET after HEAD update: %s X-Head %q %q hits %d", r.verdict(), r.Header.Get("X-Head"), r.body, o.hits.Load())
	}
	// A HEAD showing a new ETag invalidates the stored GET.
	etag = `"v2"`
	h.clock.Advance(200 * time.Second)
	h.do(http.MethodHead, "/h")
	if r := h.get("/h", "Cache-Control", "max-stale"); r.verdict() != "MISS" {
		t.Fatalf("GET after a HEAD with a new ETag: %s (%s)", r.verdict(), r.status())
	}
}

func TestInvalidation(t *testing.T) {
	var o *origin
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet:
			w.Header().Set("Cache-Control", "max-age=600")
			fmt.Fprintf(w, "%s #%d", r.URL.Path, o.hits.Load())
		case r.URL.Path == "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		case r.URL.Path == "/create":
			w.Header().Set("Location", "/a")
			w.Header().Set("Content-Location", "/b")
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	h := reverse(t, o)
	warm := func() {
		for _, p := range []string{"/a", "/b", "/c"} {
			h.get(p)
			if r := h.get(p); r.verdict() != "HIT" {
				t.Fatalf("%s not cached", p)
			}
		}
	}
	verdicts := func() string {
		var v []string
		for _, p := range []string{"/a", "/b", "/c"} {
			v = append(v, h.get(p).verdict())
		}
		return strings.Join(v, " ")
	}
	tests := []struct{ method, path, want string }{
		{"POST", "/a", "MISS HIT HIT"},
		{"PUT", "/c", "HIT HIT MISS"},
		{"DELETE", "/b", "HIT MISS HIT"},
		{"PATCH", "/a", "MISS HIT HIT"},
		{"FROBNICATE", "/c", "HIT HIT MISS"},
		{"POST", "/create", "MISS MISS HIT"},
		{"POST", "/fail", "HIT HIT HIT"},
		{"OPTIONS", "/a", "HIT HIT HIT"},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			warm()
			h.do(tc.method, tc.path)
			if got := verdicts(); got != tc.want {
				t.Errorf("after %s %s: %s, want %s", tc.method, tc.path, got, tc.want)
			}
		})
	}
}

func TestConnectionFieldsAndDate(t *testing.T) {
	date := httpcache.FormatHTTPDate(time.Now().Add(-30 * time.Second))
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", date)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "s")
		w.Header().Set("Keep-Alive", "timeout=5")
		fmt.Fprint(w, "ok")
	})
	h := reverse(t, o)
	for i, want := range []string{"MISS", "HIT"} {
		r := h.get("/d", "Connection", "X-Client-Hop", "X-Client-Hop", "1")
		if r.verdict() != want {
			t.Fatalf("request %d: %s", i, r.verdict())
		}
		if r.Header.Get("X-Secret") != "" || r.Header.Get("Keep-Alive") != "" {
			t.Errorf("request %d: hop-by-hop fields reached the client: %v", i, r.Header)
		}
		if r.Header.Get("Date") != date {
			t.Errorf("request %d: Date %q, want the origin's %q", i, r.Header.Get("Date"), date)
		}
		if age := r.Header.Get("Age"); age == "0" {
			t.Errorf("request %d: Age 0 for a response dated 30 s ago", i)
		}
	}
	if o.lastHeader("X-Client-Hop") != "" || o.lastHeader("Via") != "1.1 socklab" || o.lastHeader("X-Forwarded-For") != "127.0.0.1" {
		t.Errorf("upstream request: X-Client-Hop %q Via %q X-Forwarded-For %q", o.lastHeader("X-Client-Hop"), o.lastHeader("Via"), o.lastHeader("X-Forwarded-For"))
	}
	for _, e := range h.store.c.All() {
		if e.Header.Get("X-Secret") != "" || e.Header.Get("Connection") != "" {
			t.Errorf("stored entry has connection fields: %v", e.Header)
		}
	}
}
