package webserver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// maxSmallHitAllocs bounds the allocations of a small static file served
// from memory on the fasthttp path, response written included, when
// inotify keeps the entry current: none. Without inotify every hit stats
// the name through the os.Root, which allocates maxStatHitAllocs (the path
// split, the FileInfo, the C string of the name); the request, the reply
// and the response allocate nothing either way. The net/http engine's hit
// costs 18 (BenchmarkSmallFile, its recorder included).
const (
	maxSmallHitAllocs = 0
	maxStatHitAllocs  = 3
)

// TestSmallFileAllocs fails if the small-file hit regresses.
func TestSmallFileAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage and the race detector")
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f.bin"), make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := guard.New(httpframe.Limits{})
	var ctx fasthttp.RequestCtx
	bw := bufio.NewWriterSize(io.Discard, 8192)
	hit := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/f.bin")
		ctx.Request.Header.SetHost("127.0.0.1")
		s.serveFast(&ctx, g)
		if err := ctx.Response.Write(bw); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
	}
	hit() // load the cache
	if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != 1024 {
		t.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
	}
	bound := maxSmallHitAllocs
	if s.small.w == nil {
		bound = maxStatHitAllocs
	} else if f := s.small.items["f.bin"]; f == nil || f.watched == nil {
		t.Fatal("f.bin is not watched")
	}
	n := testing.AllocsPerRun(200, hit)
	t.Logf("%.1f allocations per small-file hit (bound %d)", n, bound)
	if n > float64(bound) {
		t.Fatalf("%.1f allocations per small-file hit, bound %d", n, bound)
	}
}

// BenchmarkFastSmallFile is the fasthttp path's cost for a 1 KiB file
// without the network: the handler and the response written.
func BenchmarkFastSmallFile(b *testing.B) {
	root := b.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f.bin"), make([]byte, 1024), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g := guard.New(httpframe.Limits{})
	var ctx fasthttp.RequestCtx
	bw := bufio.NewWriterSize(io.Discard, 8192)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/f.bin")
		s.serveFast(&ctx, g)
		_ = ctx.Response.Write(bw)
		bw.Flush()
	}
}

// maxServeAllocs bounds the allocations of a whole 1 KiB keep-alive
// exchange over loopback, socket reads and writes, fasthttp and the guard
// included, as the runtime counts them (MemStats.Mallocs). A memory
// profile (-memprofilerate 1) finds four per request, all of them the
// guard's (httpframe): its read buffer grown per head, the request line
// and Host copied into strings, and an error target that escapes; the
// fifth the runtime counts shows in no profile (it was there before
// inotify, when the os.Root stat added three: 8 then). The handler,
// fasthttp and sockConn allocate nothing.
const maxServeAllocs = 5

// TestServeAllocs fails if a served request allocates more than
// maxServeAllocs, counted by the runtime over 1,000 requests on one
// connection (the client here allocates nothing; the slack is for the
// runtime's own background work).
func TestServeAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under coverage and the race detector")
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f.bin"), make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startServer(t, Config{Root: root})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /f.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	head, err := httputil.DumpResponse(resp, false)
	if err != nil {
		t.Fatal(err)
	}
	// Every response has the same length (the Date field's is fixed), so
	// the client reads exactly one into a fixed buffer.
	buf := make([]byte, len(head)+1024)
	one := func() {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 50 {
		one()
	}
	if !bytes.HasSuffix(buf[:len(head)], []byte("\r\n\r\n")) || !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("response out of step: %q", buf[:len(head)])
	}
	const n = 1000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		one()
	}
	runtime.ReadMemStats(&after)
	per := float64(after.Mallocs-before.Mallocs) / n
	t.Logf("%.2f allocations per request (bound %d)", per, maxServeAllocs)
	if per > maxServeAllocs+0.25 {
		t.Fatalf("%.2f allocations per request, bound %d", per, maxServeAllocs)
	}
}
