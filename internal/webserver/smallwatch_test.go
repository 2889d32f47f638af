//go:build linux

package webserver

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watchedEntry reports whether name is cached and kept current by inotify.
func watchedEntry(s *Server, name string) bool {
	s.small.mu.RLock()
	defer s.small.mu.RUnlock()
	f := s.small.items[name]
	return f != nil && f.watched != nil
}

// TestSmallFileWatched: a small file kept current by inotify, without a
// stat per hit, is re-read by the very next request after any change to
// it or to a folder on its path (no wait in between), and a symlink put in
// place of the file or of a folder cannot lead the cache out of the root.
// The in-place edit keeps size and modification time, which a stat would
// not see.
func TestSmallFileWatched(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "www")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "f.txt"), []byte(secret), 0o644))
	must(os.WriteFile(filepath.Join(root, "inside.txt"), []byte("inside"), 0o644))
	addr, s, _ := startServer(t, Config{Root: root})
	if s.small.w == nil {
		t.Skip("no inotify here: every hit stats (TestSmallFileChanges)")
	}

	// Each case gets its own top folder c<i>, holding d/f.txt = "one" and a
	// hard link to it, c<i>/link.
	cases := []struct {
		name   string
		change func(top, dir, file string) error
		want   string // "404" for a 404
	}{
		{"edited in place, same size and mtime", func(top, dir, file string) error {
			st, err := os.Stat(file)
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, []byte("TWO"), 0o644); err != nil {
				return err
			}
			return os.Chtimes(file, st.ModTime(), st.ModTime())
		}, "TWO"},
		{"edited through a hard link elsewhere", func(top, dir, file string) error {
			return os.WriteFile(filepath.Join(top, "link"), []byte("LNK"), 0o644)
		}, "LNK"},
		{"renamed over", func(top, dir, file string) error {
			tmp := filepath.Join(dir, ".tmp")
			if err := os.WriteFile(tmp, []byte("new"), 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, file)
		}, "new"},
		{"removed", func(top, dir, file string) error { return os.Remove(file) }, "404"},
		{"file swapped for a symlink out of the root", func(top, dir, file string) error {
			tmp := filepath.Join(dir, ".tmp")
			if err := os.Symlink(filepath.Join(outside, "f.txt"), tmp); err != nil {
				return err
			}
			return os.Rename(tmp, file)
		}, "404"},
		{"file swapped for a symlink inside", func(top, dir, file string) error {
			tmp := filepath.Join(dir, ".tmp")
			if err := os.Symlink("../../inside.txt", tmp); err != nil {
				return err
			}
			return os.Rename(tmp, file)
		}, "inside"},
		{"folder swapped for a symlink out of the root", func(top, dir, file string) error {
			if err := os.Rename(dir, dir+".old"); err != nil {
				return err
			}
			return os.Symlink(outside, dir)
		}, "404"},
		{"folder replaced by another folder", func(top, dir, file string) error {
			other := filepath.Join(top, "other")
			if err := os.Mkdir(other, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(other, "f.txt"), []byte("oth"), 0o644); err != nil {
				return err
			}
			if err := os.Rename(dir, dir+".old"); err != nil {
				return err
			}
			return os.Rename(other, dir)
		}, "oth"},
		{"top folder moved away", func(top, dir, file string) error { return os.Rename(top, top+".gone") }, "404"},
	}
	for i, c := range cases {
		top := filepath.Join(root, "c"+itoa(i))
		dir := filepath.Join(top, "d")
		file := filepath.Join(dir, "f.txt")
		must(os.MkdirAll(dir, 0o755))
		must(os.WriteFile(file, []byte("one"), 0o644))
		must(os.Link(file, filepath.Join(top, "link")))
		target := "/c" + itoa(i) + "/d/f.txt"
		for range 2 {
			if _, body := rawGet(t, addr, target); body != "one" {
				t.Fatalf("%s: before the change: body %q", c.name, body)
			}
		}
		if !watchedEntry(s, strings.TrimPrefix(target, "/")) {
			t.Fatalf("%s: %s is not watched", c.name, target)
		}
		must(c.change(top, dir, file))
		resp, body := rawGet(t, addr, target)
		if strings.Contains(body, secret) {
			t.Fatalf("%s: served the file outside the root", c.name)
		}
		switch {
		case c.want == "404" && resp.StatusCode != 404:
			t.Errorf("%s: status %d (%q), want 404", c.name, resp.StatusCode, body)
		case c.want != "404" && body != c.want:
			t.Errorf("%s: body %q, want %q", c.name, body, c.want)
		}
	}
}

// TestSmallFileWatchRelease: entries dropped by a change give their
// inotify watches back, so a file replaced over and over does not use up
// the watches (max_user_watches). Each old version stays on disk under
// another name, so the kernel keeps its inode, and its watch, alive.
func TestSmallFileWatchRelease(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "f.txt")
	if err := os.WriteFile(file, []byte("v0"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, s, _ := startServer(t, Config{Root: root})
	if s.small.w == nil {
		t.Skip("no inotify here")
	}
	for i := range 50 {
		want := "v" + itoa(i)
		if i > 0 {
			tmp := filepath.Join(root, ".tmp")
			if err := os.Link(file, filepath.Join(root, "old"+itoa(i))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(tmp, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, file); err != nil {
				t.Fatal(err)
			}
		}
		if _, body := rawGet(t, addr, "/f.txt"); body != want {
			t.Fatalf("round %d: body %q, want %q", i, body, want)
		}
	}
	// The kernel's own list of the instance's watches.
	info, err := os.ReadFile("/proc/self/fdinfo/" + itoa(s.small.w.fd))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(info), "inotify wd:"); n != 2 { // the root folder and the file
		t.Fatalf("%d inotify watches held for one cached file, want 2:\n%s", n, info)
	}
}

// TestSmallFileWatchedConcurrent: requests on several connections while
// the files are rewritten and replaced get a whole version each (never a
// mix, never an error), and once the changes stop, the next request on
// every connection gets the last version. Under -race it checks the
// watcher's locking too.
func TestSmallFileWatchedConcurrent(t *testing.T) {
	root := t.TempDir()
	names := []string{"a.txt", "b.txt", "c.txt"}
	version := func(name string, v int) []byte { return []byte(strings.Repeat(name[:1], 8) + "-" + itoa(1000+v)) }
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(root, n), version(n, 0), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr, s, _ := startServer(t, Config{Root: root})
	if s.small.w == nil {
		t.Skip("no inotify here")
	}
	const rounds, readers = 100, 4
	stop := make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		go func() {
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				n := names[i%len(names)]
				resp, err := client.Get("http://" + addr + "/" + n)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(body) != 13 || body[0] != n[0] || string(body[:8]) != strings.Repeat(n[:1], 8) {
					errs <- fmt.Errorf("%s: status %d, body %q, %v", n, resp.StatusCode, body, err)
					return
				}
			}
		}()
	}
	for v := 1; v <= rounds; v++ {
		n := names[v%len(names)]
		file := filepath.Join(root, n)
		var err error
		if v%2 == 0 { // in place, one write of the same length (no truncation a reader could see)
			var f *os.File
			if f, err = os.OpenFile(file, os.O_WRONLY, 0); err == nil {
				_, err = f.WriteAt(version(n, v), 0)
				f.Close()
			}
		} else { // replaced
			tmp := filepath.Join(root, ".tmp")
			if err = os.WriteFile(tmp, version(n, v), 0o644); err == nil {
				err = os.Rename(tmp, file)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		want, err := os.ReadFile(filepath.Join(root, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, body := rawGet(t, addr, "/"+n); body != string(want) {
			t.Errorf("%s after the changes: %q, want %q", n, body, want)
		}
	}
}
