package webserver

import (
	"io/fs"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostilePaths sends request targets as raw bytes (a Go client would
// clean them) and checks nothing outside the root is ever served.
func TestHostilePaths(t *testing.T) {
	addr, _, _ := startServer(t, Config{Root: testRoot(t)})
	tests := []struct {
		target string
		code   int // 0: any of 400/404
	}{
		{"/../secret.txt", 400},
		{"/../../../../etc/passwd", 400},
		{"/%2e%2e/secret.txt", 400},
		{"/%2E%2E/%2e%2e/etc/passwd", 400},
		{"/.%2e/secret.txt", 400},
		{"/%2e./secret.txt", 400},
		{"/..%2fsecret.txt", 400},
		{"/%2e%2e%2fsecret.txt", 400},
		{"/list/..%2f..%2fsecret.txt", 400},
		{"/..%5csecret.txt", 400},
		{"/%5c..%5csecret.txt", 400},
		{"/..%5c..%5c..%5cetc%5cpasswd", 400},
		{"/hello.txt%00.html", 400},
		{"/%00", 400},
		{"/..%00/secret.txt", 400},
		{"/%0d%0aX-Injected:%20yes", 400},
		{"//etc/passwd", 404},
		{"///etc//passwd", 404},
		{"/etc/passwd", 404},
		{"/%252e%252e/secret.txt", 404},     // double encoding stays literal
		{"/%252e%252e%252fsecret.txt", 404}, // double-encoded slash
		{"/..%c0%afsecret.txt", 0},          // overlong UTF-8 slash is not a slash
		{"/%c0%ae%c0%ae/secret.txt", 0},
		{"/link-abs", 404},            // absolute symlink out of the root
		{"/link-rel", 404},            // relative symlink out of the root
		{"/link-dir/secret.txt", 404}, // symlinked folder out of the root
		{"/link-dir/", 404},
		{"/list/link-etc", 404},
		{"/.env", 404},
		{"/%2eenv", 404},
		{"/list/%2ehidden", 404},
		{"/.git/config", 404},
		{"http://test/../secret.txt", 400}, // absolute-form target
		{"http://test/%2e%2e/secret.txt", 400},
		{"/fifo", 404},
		{"/%2e%2e", 400},
		{"/./hello.txt", 200},
		{"/sub/./../hello.txt", 400},
		{"/%68ello.txt", 200}, // an encoded ordinary letter is fine
		{"/%2e%2e%2e", 404},   // "..." is just a name (hidden: leading dot)
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			resp, body := rawGet(t, addr, tt.target)
			if strings.Contains(body, secret) || strings.Contains(body, "root:") {
				t.Fatalf("%s: leaked content outside the root: %q", tt.target, body)
			}
			switch {
			case tt.code == 0 && resp.StatusCode != 400 && resp.StatusCode != 404:
				t.Fatalf("%s: status %d, want 400 or 404", tt.target, resp.StatusCode)
			case tt.code != 0 && resp.StatusCode != tt.code:
				t.Fatalf("%s: status %d, want %d", tt.target, resp.StatusCode, tt.code)
			}
			if resp.Header.Get("X-Injected") != "" {
				t.Fatalf("header injection")
			}
		})
	}
	// Raw bytes the URL parser itself refuses: the server answers 400.
	for _, raw := range []string{"/a\\..\\secret.txt", "/\x00", "/a b"} {
		resp := sendRaw(t, addr, "GET "+raw+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("raw %q: status %d, want 400", raw, resp.StatusCode)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"/", ".", nil},
		{"", "", errBadPath},
		{"a", "", errBadPath},
		{"/a/b", "a/b", nil},
		{"//a///b/", "a/b", nil},
		{"/./a/./b", "a/b", nil},
		{"/a/../b", "", errBadPath},
		{"/..", "", errBadPath},
		{"/a\\b", "", errBadPath},
		{"/a\x00", "", errBadPath},
		{"/a\r\n", "", errBadPath},
		{"/.env", "", errHidden},
		{"/a/.git/config", "", errHidden},
		{"/...", "", errHidden},
		{"/%2e%2e", "%2e%2e", nil},
		{"/é/ü.txt", "é/ü.txt", nil},
	}
	for _, tt := range tests {
		got, err := resolve(tt.in, false)
		if got != tt.want || err != tt.err {
			t.Errorf("resolve(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if got, err := resolve("/.well-known/x", true); err != nil || got != ".well-known/x" {
		t.Errorf("resolve with dotfiles = %q, %v", got, err)
	}
}

// FuzzResolve: whatever the path, an accepted name is a valid io/fs name
// with no way up, no separator tricks and (dotfiles off) no hidden element.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/../x", "/a\\..\\b", "//etc/passwd", "/.env", "/a/./b/", "/\x00", "/%2e%2e"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, p string, dotfiles bool) {
		name, err := resolve(p, dotfiles)
		if err != nil {
			if name != "" {
				t.Fatalf("resolve(%q) returned %q with error %v", p, name, err)
			}
			return
		}
		if !fs.ValidPath(name) {
			t.Fatalf("resolve(%q) = %q: not a valid fs path", p, name)
		}
		if strings.ContainsAny(name, "\\\x00") {
			t.Fatalf("resolve(%q) = %q: contains a backslash or NUL", p, name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == ".." || (seg == "." && name != ".") {
				t.Fatalf("resolve(%q) = %q: dot segment", p, name)
			}
			if !dotfiles && name != "." && strings.HasPrefix(seg, ".") {
				t.Fatalf("resolve(%q) = %q: hidden segment", p, name)
			}
		}
	})
}

// FuzzServePath drives the whole handler with arbitrary decoded paths over
// a folder with escaping symlinks beside a secret: whatever the path, the
// answer is one of the expected codes and never the secret.
func FuzzServePath(f *testing.F) {
	for _, s := range []string{"/", "/hello.txt", "/../secret.txt", "/link-abs", "/link-dir/secret.txt", "/list/", "/.env", "/sub", "/%2e%2e"} {
		f.Add(s)
	}
	root := testRootF(f)
	s, err := New(Config{Root: root})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, p string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = p
		r.RequestURI = p
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case 200, 301, 400, 404:
		default:
			t.Fatalf("path %q: status %d", p, w.Code)
		}
		if strings.Contains(w.Body.String(), secret) {
			t.Fatalf("path %q leaked the secret", p)
		}
		if loc := w.Header().Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//")) {
			t.Fatalf("path %q: redirect to %q leaves the site", p, loc)
		}
	})
}
