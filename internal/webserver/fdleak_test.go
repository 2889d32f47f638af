package webserver

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestStreamsClosed: a file streamed by fasthttp is closed whatever
// becomes of the response: HEAD (no body sent), a range, a 304, and a
// client that goes away mid-body.
func TestStreamsClosed(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "big.bin"), make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _, _ := startServer(t, Config{Root: root})
	url := "http://" + addr + "/big.bin"
	etag, _ := validators(t, url)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	before := openFDs(t)
	for range 20 {
		for _, h := range []map[string]string{{"M": "HEAD"}, {"Range": "bytes=0-9"}, {"If-None-Match": etag}} {
			req, _ := http.NewRequest("GET", url, nil)
			for k, v := range h {
				if k == "M" {
					req.Method = v
					continue
				}
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadFull(c, make([]byte, 1000))
		c.Close()
	}
	eventuallyConns(t, 10*time.Second, "files left open", func() bool { return openFDs(t) <= before+2 })
}
