package webserver

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// secret is written outside the served folder; no response may contain it.
const secret = "TOP-SECRET-OUTSIDE-ROOT"

// cssBody is long enough to be gzipped on the fly.
var cssBody = strings.Repeat("body { color: #123456; margin: 0 auto; }\n", 40)

// testRoot builds a folder to serve and, beside it, things that must never
// be served. It returns the folder.
func testRoot(t *testing.T) string { return testRootF(t) }

// testRootF is testRoot for tests and fuzz targets alike.
func testRootF(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "www")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "sub"), filepath.Join(root, "list"), filepath.Join(root, "list", "deeper")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(base, "secret.txt"):        secret,
		filepath.Join(outside, "secret.txt"):     secret,
		filepath.Join(root, "hello.txt"):         "hello, world\n",
		filepath.Join(root, "style.css"):         cssBody,
		filepath.Join(root, "app.js"):            "console.log('identity');\n",
		filepath.Join(root, "app.js.gz"):         "PRECOMPRESSED-BYTES",
		filepath.Join(root, "logo.svg"):          "<svg xmlns='http://www.w3.org/2000/svg'/>",
		filepath.Join(root, "data.bin"):          "0123456789abcdefghijklmnopqrstuvwxyz",
		filepath.Join(root, "sub", "index.html"): "<h1>sub index</h1>",
		filepath.Join(root, "list", "a.txt"):     "a",
		filepath.Join(root, "list", "b <&>.txt"): "b",
		filepath.Join(root, "list", ".hidden"):   "hidden",
		filepath.Join(root, ".env"):              "PASSWORD=" + secret,
		filepath.Join(root, "%2e%2e"):            "literal percent name",
	}
	for name, body := range files {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"link-abs":      filepath.Join(base, "secret.txt"), // absolute, outside
		"link-rel":      "../secret.txt",                   // relative, outside
		"link-dir":      "../outside",                      // a folder outside
		"link-in":       "hello.txt",                       // inside: allowed
		"sub/link-up":   "../hello.txt",                    // up but still inside: allowed
		"link-loop":     "link-loop",
		"list/link-etc": "/etc/passwd",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// startServer runs a Server for cfg on 127.0.0.1:0 and returns its address,
// the Server, and a stop function that cancels and waits for Serve's result.
func startServer(t *testing.T, cfg Config) (string, *Server, func() error) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(30 * time.Second):
				t.Error("Serve did not return after cancel")
			}
			s.Close()
		})
		return result
	}
	t.Cleanup(func() { stop() })
	return ln.Addr().String(), s, stop
}

// rawGet sends one request line as given (no client-side cleaning) and
// returns the response and its body.
func rawGet(t *testing.T, addr, target string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %q: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
