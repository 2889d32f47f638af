package webserver

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// benchServer serves a folder with one file of size bytes.
func benchServer(b *testing.B, size int) *Server {
	b.Helper()
	root := b.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f.bin"), make([]byte, size), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSmallFile is the handler's cost for a 1 KiB file without the
// network: stat through the os.Root plus the prepared answer.
func BenchmarkSmallFile(b *testing.B) {
	s := benchServer(b, 1024)
	r := httptest.NewRequest("GET", "/f.bin", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkRangeRequest(b *testing.B) {
	s := benchServer(b, 1024)
	r := httptest.NewRequest("GET", "/f.bin", nil)
	r.Header.Set("Range", "bytes=100-199")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 206 {
			b.Fatal(w.Code)
		}
	}
}
