package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkHit measures the engine's cache-hit path without sockets.
func BenchmarkHit(b *testing.B) {
	body := strings.Repeat("x", 1024)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Etag", `"abc"`)
		w.Header().Set("Last-Modified", "Sat, 21 Nov 2026 04:00:00 GMT")
		w.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(w, body)
	}))
	defer o.Close()
	u, _ := url.Parse(o.URL)
	store, _ := NewMemoryStore(64 << 20)
	p, err := New(Config{Upstream: u, Store: store, AccessLog: func(AccessEntry) {}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/obj", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("User-Agent", "wrk")
	p.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkMiss measures a miss through the upstream transport (and the
// Transfer-Encoding check under it), origin on loopback.
func BenchmarkMiss(b *testing.B) {
	body := strings.Repeat("x", 1024)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(w, body)
	}))
	defer o.Close()
	u, _ := url.Parse(o.URL)
	store, _ := NewMemoryStore(64 << 20)
	p, err := New(Config{Upstream: u, Store: store, AccessLog: func(AccessEntry) {}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/obj", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
