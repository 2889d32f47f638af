package webserver

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
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
