package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An origin that answers with 200 KB of header lines is cut off at the
// proxy's response header bound (64 KiB by default, not net/http's 1 MiB)
// and the client gets a 502 that says why; one just under the bound
// passes.
func TestHostileOriginHeaderBomb(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		size := 200 << 10
		if r.URL.Path == "/fits" {
			size = 60 << 10
		}
		for i := 0; size > 0; i++ {
			w.Header().Add(fmt.Sprintf("X-Bomb-%d", i), strings.Repeat("b", 1000))
			size -= 1000
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "body")
	})
	h := reverse(t, o)
	r := h.get("/bomb")
	if r.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", r.StatusCode)
	}
	if want := "response header section larger than the proxy's limit of 65536 bytes"; !strings.Contains(r.body, want) {
		t.Errorf("body %q, want it to say %q", r.body, want)
	}
	if r.Header.Get("X-Bomb-0") != "" {
		t.Error("the origin's headers reached the client")
	}
	if again := h.get("/bomb"); again.StatusCode != http.StatusBadGateway || o.hits.Load() != 2 {
		t.Errorf("second try: %d after %d origin hits; nothing may be cached from a refused response", again.StatusCode, o.hits.Load())
	}
	if fits := h.get("/fits"); fits.StatusCode != http.StatusOK || fits.body != "body" || fits.Header.Get("X-Bomb-0") == "" {
		t.Errorf("60 KB of headers: %d %q, want 200 with the headers", fits.StatusCode, fits.body)
	}
}

// The bound follows Config.MaxResponseHeaderBytes.
func TestOriginHeaderBoundConfigured(t *testing.T) {
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("b", 8<<10))
		io.WriteString(w, "body")
	})
	u, err := url.Parse(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit, want int
	}{{4 << 10, http.StatusBadGateway}, {16 << 10, http.StatusOK}} {
		h := start(t, Config{Upstream: u, MaxResponseHeaderBytes: tc.limit})
		if r := h.get("/"); r.StatusCode != tc.want {
			t.Errorf("limit %d: status %d, want %d (%s)", tc.limit, r.StatusCode, tc.want, r.body)
		}
	}
}
