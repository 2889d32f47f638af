package webserver

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// fileConn records what reaches the socket's ReadFrom: net.TCPConn's
// ReadFrom sends an *os.File (alone or in an io.LimitedReader) with
// sendfile(2), anything else by copying through user space.
type fileConn struct {
	*net.TCPConn
	files, copied *atomic.Int64
}

func (c fileConn) ReadFrom(r io.Reader) (int64, error) {
	src := r
	if lr, ok := r.(*io.LimitedReader); ok {
		src = lr.R
	}
	n, err := c.TCPConn.ReadFrom(r)
	if _, ok := src.(*os.File); ok {
		c.files.Add(n)
	} else {
		c.copied.Add(n)
	}
	return n, err
}

type fileListener struct {
	net.Listener
	files, copied atomic.Int64
}

func (l *fileListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return fileConn{c.(*net.TCPConn), &l.files, &l.copied}, nil
}

// TestLargeFileSendfile: a file above the small-file cache's size goes to
// the socket as the *os.File itself, through the guard and the connection
// cap, whole and as a range; none of its bytes are copied through the
// process, with the access log on (it counts what went out). (strace -f
// -e trace=sendfile shows the calls, 256 KiB each.)
func TestLargeFileSendfile(t *testing.T) {
	root := t.TempDir()
	const size = 3 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(root, "big.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	s, err := New(Config{Root: root, AccessLog: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := guard.New(httpframe.Limits{})
	fl := &fileListener{Listener: mustListen(t)}
	srv := s.newFastServer(g)
	go srv.Serve(s.conns.Listen(g.Listener(fl)))
	t.Cleanup(func() { srv.Shutdown() })
	for _, tc := range []struct {
		rng  string
		want []byte
	}{{"", body}, {"bytes=1000-2000999", body[1000:2001000]}} {
		req, _ := http.NewRequest("GET", "http://"+fl.Addr().String()+"/big.bin", nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		before := fl.files.Load()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != string(tc.want) {
			t.Fatalf("Range %q: %d bytes (%v), want %d and the same bytes", tc.rng, len(got), err, len(tc.want))
		}
		if sent := fl.files.Load() - before; sent != int64(len(tc.want)) {
			t.Fatalf("Range %q: %d bytes went out as a file, want all %d", tc.rng, sent, len(tc.want))
		}
	}
	eventuallyConns(t, 5*time.Second, "the access log lacks the full download", func() bool {
		return strings.Contains(log.String(), `"GET /big.bin HTTP/1.1" 200 3145728 `)
	})
	if n := fl.copied.Load(); n != 0 {
		t.Fatalf("%d bytes copied through ReadFrom from something other than the file", n)
	}
}

// TestAccessLogAbortedDownload: a download the client abandons is logged
// with the bytes that went out, not the file's size, once the server
// gives up on it (nginx logs the same).
func TestAccessLogAbortedDownload(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "big.bin"), make([]byte, 64<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	addr, _, _ := startServer(t, Config{Root: root, AccessLog: &log})
	c, err := tinyBufferDialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	eventuallyConns(t, 10*time.Second, "no access-log line for the abandoned download", func() bool {
		return strings.Contains(log.String(), `"GET /big.bin HTTP/1.1" 200 `)
	})
	line := log.String()
	var n int64
	if _, err := fmt.Sscanf(line[strings.Index(line, `" 200 `)+6:], "%d", &n); err != nil || n >= 64<<20 {
		t.Fatalf("logged %d bytes (%v) for a download abandoned after 1000: %q", n, err, line)
	}
}
