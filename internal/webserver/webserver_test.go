package webserver

import (
	"bytes"
	"compress/gzip"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatusCodes(t *testing.T) {
	addr, _, _ := startServer(t, Config{Root: testRoot(t)})
	base := "http://" + addr
	etag, lastMod := validators(t, base+"/hello.txt")

	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		code       int
		wantHeader map[string]string
		wantBody   string // substring
		noBody     bool
	}{
		{name: "file", path: "/hello.txt", code: 200, wantBody: "hello, world",
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Accept-Ranges": "bytes"}},
		{name: "head", method: "HEAD", path: "/hello.txt", code: 200, noBody: true,
			wantHeader: map[string]string{"Content-Length": "13"}},
		{name: "post 405", method: "POST", path: "/hello.txt", code: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD"}, wantBody: "405 Method Not Allowed"},
		{name: "delete 405", method: "DELETE", path: "/", code: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "options 405", method: "OPTIONS", path: "/", code: 405, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "missing 404 html", path: "/nope.html", code: 404,
			wantHeader: map[string]string{"Content-Type": "text/html; charset=utf-8"}, wantBody: "<h1>404 Not Found</h1>"},
		{name: "head 404", method: "HEAD", path: "/nope", code: 404, noBody: true},
		{name: "single range", path: "/data.bin", header: map[string]string{"Range": "bytes=2-5"}, code: 206,
			wantHeader: map[string]string{"Content-Range": "bytes 2-5/36"}, wantBody: "2345"},
		{name: "suffix range", path: "/data.bin", header: map[string]string{"Range": "bytes=-3"}, code: 206, wantBody: "xyz"},
		{name: "unsatisfiable 416", path: "/data.bin", header: map[string]string{"Range": "bytes=100-200"}, code: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */36", "Content-Type": "text/html; charset=utf-8"},
			wantBody:   "416 Requested Range Not Satisfiable"},
		{name: "if-none-match 304", path: "/hello.txt", header: map[string]string{"If-None-Match": etag}, code: 304, noBody: true,
			wantHeader: map[string]string{"ETag": etag}},
		{name: "if-none-match star 304", path: "/hello.txt", header: map[string]string{"If-None-Match": "*"}, code: 304},
		{name: "if-none-match other 200", path: "/hello.txt", header: map[string]string{"If-None-Match": `"other"`}, code: 200},
		{name: "if-modified-since 304", path: "/hello.txt", header: map[string]string{"If-Modified-Since": lastMod}, code: 304},
		{name: "if-modified-since old 200", path: "/hello.txt",
			header: map[string]string{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, code: 200},
		{name: "if-range mismatch 200", path: "/data.bin", header: map[string]string{"Range": "bytes=0-1", "If-Range": `"x"`}, code: 200},
		{name: "if-range match 206", path: "/hello.txt", header: map[string]string{"Range": "bytes=0-1", "If-Range": etag}, code: 206, wantBody: "he"},
		{name: "file with slash 404", path: "/hello.txt/", code: 404},
		{name: "if-match fails 412", path: "/hello.txt", header: map[string]string{"If-Match": `"nope"`}, code: 412},
		{name: "dir redirect", path: "/list", code: 301, wantHeader: map[string]string{"Location": "/list/"}},
		{name: "dir redirect keeps query", path: "/list?x=1", code: 301, wantHeader: map[string]string{"Location": "/list/?x=1"}},
		{name: "index.html", path: "/sub/", code: 200, wantBody: "sub index"},
		{name: "listing", path: "/list/", code: 200, wantBody: `href="a.txt"`},
		{name: "listing escapes names", path: "/list/", code: 200, wantBody: "b &lt;&amp;&gt;.txt"},
		{name: "root listing", path: "/", code: 200, wantBody: "Index of /"},
		{name: "dotfile 404", path: "/.env", code: 404},
		{name: "hidden in listing dir 404", path: "/list/.hidden", code: 404},
		{name: "mime css", path: "/style.css", code: 200, wantHeader: map[string]string{"Content-Type": "text/css; charset=utf-8", "Vary": "Accept-Encoding"}},
		{name: "mime svg", path: "/logo.svg", code: 200, wantHeader: map[string]string{"Content-Type": "image/svg+xml"}},
		{name: "mime octet", path: "/data.bin", code: 200, wantHeader: map[string]string{"Content-Type": "application/octet-stream"}},
		{name: "bad path 400", path: "/a/../hello.txt", code: 400},
		{name: "fifo 404", path: "/fifo", code: 404},
		{name: "symlink inside 200", path: "/link-in", code: 200, wantBody: "hello, world"},
		{name: "symlink up inside 200", path: "/sub/link-up", code: 200, wantBody: "hello, world"},
		{name: "symlink loop 404", path: "/link-loop", code: 404},
		{name: "bytes", path: "/_socklab/bytes?n=1000", code: 200,
			wantHeader: map[string]string{"Content-Length": "1000", "Content-Type": "application/octet-stream", "Cache-Control": "no-store"}},
		{name: "bytes units", path: "/_socklab/bytes?n=2KiB", code: 200, wantHeader: map[string]string{"Content-Length": "2048"}},
		{name: "bytes zero", path: "/_socklab/bytes?n=0", code: 200, wantHeader: map[string]string{"Content-Length": "0"}},
		{name: "bytes head", method: "HEAD", path: "/_socklab/bytes?n=1GB", code: 200, noBody: true,
			wantHeader: map[string]string{"Content-Length": "1000000000"}},
		{name: "bytes missing n", path: "/_socklab/bytes", code: 400},
		{name: "bytes bad n", path: "/_socklab/bytes?n=lots", code: 400},
		{name: "bytes negative n", path: "/_socklab/bytes?n=-5", code: 400},
		{name: "bytes over cap", path: "/_socklab/bytes?n=11GiB", code: 400},
		{name: "bytes post 405", method: "POST", path: "/_socklab/bytes?n=1", code: 405},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, base+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.code, body)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q lacks %q", body, tt.wantBody)
			}
			if tt.noBody && len(body) != 0 {
				t.Errorf("body %q, want none", body)
			}
			if strings.Contains(string(body), secret) {
				t.Errorf("body leaks the secret")
			}
		})
	}
}

// validators returns the ETag and Last-Modified of url.
func validators(t *testing.T, url string) (string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("no validators: ETag %q Last-Modified %q", etag, lm)
	}
	return etag, lm
}

func TestMultipleRanges(t *testing.T) {
	root := testRoot(t)
	// Parts far enough apart not to be coalesced (ranges.go).
	big := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 100)
	if err := os.WriteFile(filepath.Join(root, "big.bin"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startServer(t, Config{Root: root})
	req, _ := http.NewRequest("GET", "http://"+addr+"/big.bin", nil)
	req.Header.Set("Range", "bytes=0-1,1810-1812")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", resp.StatusCode)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q, want multipart/byteranges", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	want := []struct{ rng, body string }{{"bytes 0-1/3600", "01"}, {"bytes 1810-1812/3600", "abc"}}
	for i, w := range want {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		b, _ := io.ReadAll(p)
		if got := p.Header.Get("Content-Range"); got != w.rng || string(b) != w.body {
			t.Errorf("part %d: %q %q, want %q %q", i, got, b, w.rng, w.body)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more than two parts: %v", err)
	}
}

func TestGzip(t *testing.T) {
	addr, _, _ := startServer(t, Config{Root: testRoot(t)})
	// DisableCompression: look at the raw gzip bytes ourselves.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(path, ae string, extra ...string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			req.Header.Set(extra[i], extra[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	t.Run("on the fly", func(t *testing.T) {
		resp, b := get("/style.css", "br, gzip;q=0.8")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if string(plain) != cssBody {
			t.Fatalf("gunzipped body differs")
		}
		if len(b) >= len(cssBody) {
			t.Errorf("gzip did not shrink: %d >= %d", len(b), len(cssBody))
		}
		// Its own validator, and conditional requests work on it.
		etag := resp.Header.Get("ETag")
		resp2, _ := get("/style.css", "gzip", "If-None-Match", etag)
		if resp2.StatusCode != 304 {
			t.Errorf("If-None-Match on gzip ETag: %d, want 304", resp2.StatusCode)
		}
		ident, _ := get("/style.css", "")
		if ident.Header.Get("ETag") == etag {
			t.Errorf("gzip and identity share ETag %s", etag)
		}
	})
	t.Run("not accepted", func(t *testing.T) {
		for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
			resp, b := get("/style.css", ae)
			if resp.Header.Get("Content-Encoding") != "" || string(b) != cssBody {
				t.Errorf("Accept-Encoding %q: got encoding %q", ae, resp.Header.Get("Content-Encoding"))
			}
		}
	})
	t.Run("precompressed", func(t *testing.T) {
		resp, b := get("/app.js", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || string(b) != "PRECOMPRESSED-BYTES" {
			t.Fatalf("got %q %q, want the .gz file", resp.Header.Get("Content-Encoding"), b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
			t.Errorf("Content-Type %q, want the original file's", ct)
		}
		resp, b = get("/app.js", "")
		if resp.Header.Get("Content-Encoding") != "" || !strings.Contains(string(b), "identity") {
			t.Fatalf("without gzip: %q %q", resp.Header.Get("Content-Encoding"), b)
		}
	})
	t.Run("not compressible", func(t *testing.T) {
		resp, _ := get("/data.bin", "gzip")
		if resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("octet-stream was gzipped")
		}
	})
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"":                 false,
		"gzip":             true,
		"GZIP":             true,
		"deflate, gzip":    true,
		"x-gzip":           true,
		"*":                true,
		"gzip;q=0":         false,
		"gzip; q=0.000":    false,
		"gzip;q=0.5":       true,
		"br;q=1, gzip;q=0": false,
		"identity":         false,
		"gzipper":          false,
		"*;q=0":            false,
	}
	for h, want := range tests {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestDotfilesAndNoListing(t *testing.T) {
	root := testRoot(t)
	t.Run("dotfiles on", func(t *testing.T) {
		addr, _, _ := startServer(t, Config{Root: root, Dotfiles: true})
		if resp, body := rawGet(t, addr, "/list/.hidden"); resp.StatusCode != 200 || body != "hidden" {
			t.Fatalf("%d %q, want 200 hidden", resp.StatusCode, body)
		}
		if _, body := rawGet(t, addr, "/list/"); !strings.Contains(body, ".hidden") {
			t.Errorf("listing hides .hidden with --dotfiles")
		}
	})
	t.Run("no listing", func(t *testing.T) {
		addr, _, _ := startServer(t, Config{Root: root, NoListing: true})
		if resp, _ := rawGet(t, addr, "/list/"); resp.StatusCode != 404 {
			t.Fatalf("listing with NoListing: %d, want 404", resp.StatusCode)
		}
		if resp, _ := rawGet(t, addr, "/sub/"); resp.StatusCode != 200 {
			t.Fatalf("index.html with NoListing: %d, want 200", resp.StatusCode)
		}
	})
	t.Run("listing hides dotfiles", func(t *testing.T) {
		addr, _, _ := startServer(t, Config{Root: root})
		if _, body := rawGet(t, addr, "/list/"); strings.Contains(body, ".hidden") {
			t.Errorf("listing shows .hidden")
		}
	})
}

func TestMalformedRequest400(t *testing.T) {
	addr, _, _ := startServer(t, Config{Root: testRoot(t)})
	for _, raw := range []string{
		"GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two Host headers
		"GET /hello.txt HTTP/1.1\r\n\r\n",                       // HTTP/1.1 without Host
		"GET /hello.txt HTTP/9.9\r\nHost: a\r\n\r\n",
		"GET hello.txt HTTP/1.1\r\nHost: a\r\n\r\n", // not origin-form
		"GET /hello.txt HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
	} {
		resp := sendRaw(t, addr, raw)
		if resp.StatusCode != 400 && resp.StatusCode != 505 {
			t.Errorf("%q: status %d, want 400", raw, resp.StatusCode)
		}
	}
}

func TestAccessLog(t *testing.T) {
	var buf syncBuffer
	addr, _, _ := startServer(t, Config{Root: testRoot(t), AccessLog: &buf})
	sendRaw(t, addr, "GET /hello.txt?q=1 HTTP/1.1\r\nHost: a\r\nReferer: http://example.test/start\r\n"+
		"User-Agent: evil\"agent\xc3\xa9\r\nConnection: close\r\n\r\n")
	rawGet(t, addr, "/missing")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), buf.String())
	}
	// host ident user [time] "request" status bytes "referer" "agent"
	const ts = `\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]`
	want := []string{
		`^127\.0\.0\.1 - - ` + ts + ` "GET /hello\.txt\?q=1 HTTP/1\.1" 200 13 "http://example\.test/start" "evil\\x22agent\\xC3\\xA9"$`,
		`^127\.0\.0\.1 - - ` + ts + ` "GET /missing HTTP/1\.1" 404 \d+ "-" "-"$`,
	}
	for i, re := range want {
		if !regexpMatch(re, lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}

func TestKeepAlive(t *testing.T) {
	addr, s, _ := startServer(t, Config{Root: testRoot(t)})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i := 0; i < 5; i++ {
		resp, err := client.Get("http://" + addr + "/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := s.conns.Open(); n != 1 {
		t.Fatalf("%d connections for 5 sequential requests, want 1 (keep-alive)", n)
	}
}

func TestEmbeddedSite(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	base := "http://" + addr
	pages := []string{"/"}
	seen := map[string]bool{}
	for len(pages) > 0 {
		p := pages[0]
		pages = pages[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		if resp.Header.Get("ETag") == "" {
			t.Errorf("%s: no ETag", p)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			for _, m := range hrefRE.FindAllStringSubmatch(string(b), -1) {
				link := m[1]
				if strings.Contains(link, "?") || strings.HasPrefix(link, "http") {
					continue
				}
				if !strings.HasPrefix(link, "/") {
					link = "/" + link
				}
				pages = append(pages, link)
			}
		}
	}
	for _, want := range []string{"/", "/path.html", "/try.html", "/style.css", "/logo.svg"} {
		if !seen[want] {
			t.Errorf("embedded site does not link %s", want)
		}
	}
	// Validators work on embedded files (content hashes).
	resp, _ := http.Get(base + "/style.css")
	resp.Body.Close()
	req, _ := http.NewRequest("GET", base+"/style.css", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 304 {
		t.Errorf("If-None-Match on embedded file: %d, want 304", resp.StatusCode)
	}
}

func TestBytesBody(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	for _, n := range []int{0, 1, 1000, 256 << 10, 3<<20 + 7} {
		resp, err := http.Get("http://" + addr + "/_socklab/bytes?n=" + itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || got != int64(n) {
			t.Fatalf("n=%d: read %d bytes (%v)", n, got, err)
		}
	}
}

func TestServeAfterCloseAddrReported(t *testing.T) {
	// Serve returns the listener's failure (here: closed before serving).
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- s.Serve(t.Context(), ln) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
			t.Fatalf("Serve on a closed listener: %v, want an error naming %s", err, ln.Addr())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// TestSmallFileChanges: a small file served from memory is re-read as soon
// as it changes on disk, in place or replaced by another file.
func TestSmallFileChanges(t *testing.T) {
	root := testRoot(t)
	addr, _, _ := startServer(t, Config{Root: root})
	name := filepath.Join(root, "hello.txt")
	if _, body := rawGet(t, addr, "/hello.txt"); body != "hello, world\n" {
		t.Fatalf("first body %q", body)
	}
	steps := []struct {
		name   string
		change func() error
		want   string
	}{
		{"rewritten, new size", func() error { return os.WriteFile(name, []byte("changed!"), 0o644) }, "changed!"},
		{"rewritten, same size, new mtime", func() error {
			if err := os.WriteFile(name, []byte("CHANGED!"), 0o644); err != nil {
				return err
			}
			return os.Chtimes(name, time.Now(), time.Now().Add(time.Hour))
		}, "CHANGED!"},
		{"replaced, same size and mtime", func() error {
			st, _ := os.Stat(name)
			tmp := name + ".new"
			if err := os.WriteFile(tmp, []byte("replaced"), 0o644); err != nil {
				return err
			}
			if err := os.Chtimes(tmp, st.ModTime(), st.ModTime()); err != nil {
				return err
			}
			return os.Rename(tmp, name)
		}, "replaced"},
		{"removed", func() error { return os.Remove(name) }, "404"},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatal(err)
		}
		resp, body := rawGet(t, addr, "/hello.txt")
		if st.want == "404" {
			if resp.StatusCode != 404 {
				t.Fatalf("%s: status %d, want 404", st.name, resp.StatusCode)
			}
			continue
		}
		if body != st.want {
			t.Fatalf("%s: body %q, want %q", st.name, body, st.want)
		}
	}
}

// TestFastPathHeaders: the prepared answer for small files carries the
// same headers as the general ServeContent path.
func TestFastPathHeaders(t *testing.T) {
	addr, _, _ := startServer(t, Config{Root: testRoot(t)})
	for _, path := range []string{"/hello.txt", "/data.bin", "/style.css"} {
		fast := sendRaw(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		slow := sendRaw(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"x\"\r\n\r\n")
		if fast.StatusCode != 200 || slow.StatusCode != 200 {
			t.Fatalf("%s: %d / %d", path, fast.StatusCode, slow.StatusCode)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "ETag", "Last-Modified", "Accept-Ranges", "Vary", "Server", "X-Content-Type-Options"} {
			if a, b := fast.Header.Values(k), slow.Header.Values(k); strings.Join(a, ",") != strings.Join(b, ",") {
				t.Errorf("%s %s: fast %q, general %q", path, k, a, b)
			}
		}
	}
}
