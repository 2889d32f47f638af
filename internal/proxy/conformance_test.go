package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpcache"
)

// reverseWith starts a caching reverse proxy in front of o with cfg
// (Upstream is filled in).
func reverseWith(t *testing.T, o *origin, cfg Config) *harness {
	t.Helper()
	u, _ := url.Parse(o.URL)
	cfg.Upstream = u
	h := start(t, cfg)
	o.mu.Lock()
	o.clock = h.clock
	o.mu.Unlock()
	return h
}

func TestTargetedCacheControlThroughProxy(t *testing.T) {
	future := httpcache.FormatHTTPDate(time.Now().Add(time.Hour))
	// Two days ahead at 03:00, so that the hour can be written with one digit.
	threeAM := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour).Add(3 * time.Hour)
	tests := []struct {
		name  string
		resp  []string
		steps []step
	}{
		{"RFC9213§2.2 short CDN max-age beats long CC", []string{"Cache-Control", "max-age=3600", "CDN-Cache-Control", "max-age=10"}, []step{
			{verdict: "MISS", hits: 1, csContains: "ttl=10", absent: "Cdn-Cache-Control"},
			{advance: 5 * time.Second, verdict: "HIT", hits: 1, absent: "Cdn-Cache-Control", present: "Cache-Control"},
			{advance: 6 * time.Second, verdict: "MISS", hits: 2, csContains: "fwd=stale"},
		}},
		{"RFC9213§2.2 CDN max-age stores a CC no-store response", []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"}, []step{
			{verdict: "MISS", hits: 1, csContains: "stored"}, {verdict: "HIT", hits: 1},
		}},
		{"RFC9213§2.2 CDN no-store beats CC max-age", []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store"}, []step{
			{verdict: "MISS", hits: 1, csContains: "detail=no-store"}, {verdict: "MISS", hits: 2},
		}},
		{"RFC9213§2.2 CDN private beats CC max-age", []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "private"}, []step{
			{verdict: "MISS", hits: 1, csContains: "detail=private"}, {verdict: "MISS", hits: 2},
		}},
		{"RFC9213§2.2 CDN no-cache beats CC max-age", []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-cache", "Etag", `"v1"`}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "HIT", hits: 2, csContains: "fwd-status=304"},
		}},
		{"RFC9213§2.2 CDN max-age=0 ignores a future Expires", []string{"CDN-Cache-Control", "max-age=0", "Expires", future}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "MISS", hits: 2},
		}},
		{"RFC9213§2.2 own field before CDN-Cache-Control", []string{"Socklab-Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store", "Cache-Control", "no-store"}, []step{
			{verdict: "MISS", hits: 1, absent: "Socklab-Cache-Control"}, {verdict: "HIT", hits: 1, absent: "Socklab-Cache-Control"},
		}},
		{"RFC9111§5.2.2.3 must-understand stores no-store for a known status", []string{"Cache-Control", "no-store, must-understand, max-age=60"}, []step{
			{verdict: "MISS", hits: 1, csContains: "stored"}, {verdict: "HIT", hits: 1},
		}},
		{"RFC9111§5.3 Expires with a one-digit hour is already expired", []string{"Expires", threeAM.Format("Mon, 02 Jan 2006 3:04:05 GMT")}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "MISS", hits: 2},
		}},
		{"RFC9111§5.3 Expires with extra spaces is already expired", []string{"Expires", time.Now().Add(time.Hour).UTC().Format("Mon, 02 Jan 2006  15:04:05 GMT")}, []step{
			{verdict: "MISS", hits: 1}, {verdict: "MISS", hits: 2},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o *origin
			o = newOrigin(t, static(&o, tc.resp...))
			h := reverseWith(t, o, Config{TargetedCacheControl: "Socklab-Cache-Control"})
			runSteps(t, h, o, "/t", tc.steps)
		})
	}
}

// TestPostContentLocationServesGet covers RFC 9110 §9.3.3 with RFC 9111 §4.4.
func TestPostContentLocationServesGet(t *testing.T) {
	var o *origin
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Method == http.MethodPost {
			loc := r.URL.Path
			if loc == "/other" {
				loc = "/elsewhere"
			}
			w.Header().Set("Content-Location", loc)
		}
		fmt.Fprintf(w, "%s #%d", r.Method, o.hits.Load())
	})
	h := reverse(t, o)
	if r := h.do(http.MethodPost, "/form"); r.body != "POST #1" || !strings.Contains(r.status(), "stored") {
		t.Fatalf("POST: %q %q", r.body, r.status())
	}
	if r := h.get("/form"); r.verdict() != "HIT" || r.body != "POST #1" || o.hits.Load() != 1 {
		t.Fatalf("RFC9110§9.3.3 GET after POST: %s %q, origin hits %d", r.verdict(), r.body, o.hits.Load())
	}
	// A POST whose Content-Location names another URI is not stored, and
	// still invalidates the target (§4.4).
	if r := h.do(http.MethodPost, "/other"); strings.Contains(r.status(), "stored") {
		t.Fatalf("POST /other: %q", r.status())
	}
}

// TestVaryLanguageNormalisation covers RFC 9111 §4.1 through the proxy.
func TestVaryLanguageNormalisation(t *testing.T) {
	var o *origin
	o = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Content-Language", "de") // the origin only speaks German
		fmt.Fprintf(w, "de #%d", o.hits.Load())
	})
	h := reverse(t, o)
	steps := []struct {
		name, al, verdict string
		hits              int64
	}{
		{"first", "en, de", "MISS", 1},
		{"RFC9111§4.1 case", "eN, De", "HIT", 1},
		{"RFC9111§4.1 order of equal q", "de, en", "HIT", 1},
		{"RFC9111§4.1 whitespace", " en ,   de", "HIT", 1},
		{"RFC9111§4.1 Content-Language is the top preference", "fr;q=0.5, de;q=1.0", "HIT", 1},
		{"RFC9111§4.1 another language preferred", "fr, de;q=0.5", "MISS", 2},
	}
	for _, s := range steps {
		r := h.get("/lang", "Accept-Language", s.al)
		if r.verdict() != s.verdict || o.hits.Load() != s.hits {
			t.Fatalf("%s (%q): %s, origin hits %d (%q); want %s %d", s.name, s.al, r.verdict(), o.hits.Load(), r.status(), s.verdict, s.hits)
		}
	}
	// A purge drops the aliases too.
	h.do("PURGE", "/lang")
	if r := h.get("/lang", "Accept-Language", "de"); r.verdict() != "MISS" {
		t.Fatalf("after purge: %s", r.verdict())
	}
}

// TestIfModifiedSinceWithoutLastModified covers RFC 9111 §4.3.2: a fresh
// stored response without Last-Modified answers If-Modified-Since with 304
// by its Date.
func TestIfModifiedSinceWithoutLastModified(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=600"))
	h := reverse(t, o)
	first := h.get("/ims")
	date := first.Header.Get("Date")
	if first.Header.Get("Last-Modified") != "" || date == "" {
		t.Fatalf("setup: Last-Modified %q Date %q", first.Header.Get("Last-Modified"), date)
	}
	r := h.get("/ims", "If-Modified-Since", date)
	if r.StatusCode != http.StatusNotModified || r.verdict() != "HIT" || o.hits.Load() != 1 {
		t.Fatalf("RFC9111§4.3.2 IMS = Date: %d %s, origin hits %d", r.StatusCode, r.verdict(), o.hits.Load())
	}
	d, _ := httpcache.ParseHTTPDate(date)
	r = h.get("/ims", "If-Modified-Since", httpcache.FormatHTTPDate(d.Add(-time.Hour)))
	if r.StatusCode != http.StatusOK || r.body == "" {
		t.Fatalf("RFC9111§4.3.2 IMS before Date: %d %q", r.StatusCode, r.body)
	}
}

// TestCacheStatusHonestAboutStorage covers RFC 9211 §2.5: "stored" goes out
// only when it is known at header time; the access log has the outcome.
func TestCacheStatusHonestAboutStorage(t *testing.T) {
	big := strings.Repeat("b", 100<<10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		body := big
		if r.URL.Path == "/small" {
			body = "small"
		}
		// No Content-Length: chunked, the length unknown at header time.
		w.(http.Flusher).Flush()
		io.WriteString(w, body)
	})
	u, _ := url.Parse(o.URL)
	h := start(t, Config{Upstream: u, MaxObjectSize: 64 << 10})
	tests := []struct {
		path      string
		logStored bool
		logDetail string
	}{
		{"/big", false, "detail=too-large"},
		{"/small", true, ""},
	}
	for _, tc := range tests {
		t.Run("RFC9211§2.5 "+tc.path, func(t *testing.T) {
			r := h.get(tc.path)
			if strings.Contains(r.status(), "stored") {
				t.Errorf("Cache-Status %q claims stored before the body's length is known", r.status())
			}
			e := waitEntry(t, h, func(e AccessEntry) bool { return strings.HasSuffix(e.URL, tc.path) })
			if strings.Contains(e.CacheStatus, "; stored") != tc.logStored || !strings.Contains(e.CacheStatus, tc.logDetail) {
				t.Errorf("access log Cache-Status %q; want stored=%v %q", e.CacheStatus, tc.logStored, tc.logDetail)
			}
		})
	}
	if r := h.get("/small"); r.verdict() != "HIT" {
		t.Errorf("the small chunked body was not stored: %s", r.verdict())
	}
}

// TestStoredObjectsExcludeVaryMarkers: one response that varies is one
// object in /_socklab/stats, not two.
func TestStoredObjectsExcludeVaryMarkers(t *testing.T) {
	var o *origin
	o = newOrigin(t, static(&o, "Cache-Control", "max-age=60", "Vary", "Accept-Encoding"))
	h := reverse(t, o)
	h.get("/v", "Accept-Encoding", "gzip")
	h.store.CleanUp()
	if st := h.p.Stats(); st.Objects != 1 {
		t.Fatalf("one varying response: stored_objects %d, want 1", st.Objects)
	}
	h.get("/v", "Accept-Encoding", "br")
	h.get("/plain")
	h.store.CleanUp()
	if st := h.p.Stats(); st.Objects != 3 {
		t.Fatalf("two variants and a plain response: stored_objects %d, want 3", st.Objects)
	}
	h.do("PURGE", "/v")
	h.store.CleanUp()
	if st := h.p.Stats(); st.Objects != 1 {
		t.Fatalf("after purging the varying URL: stored_objects %d, want 1", st.Objects)
	}
}
