package webserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Ambiguous request framing gets one 400 and the connection closed: the
// request riding inside the first one's body is never answered (issue 13;
// RFC 9112 §6.1, §6.3). Over raw bytes, as an attacker sends them.
func TestHostileServeRequestSmuggling(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	const smuggle = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	for name, req := range map[string]string{
		"CL and TE":          "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
		"TE obs-fold":        "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n" + smuggle,
		"chunk size invalid": "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n" + smuggle,
		"valid chunked":      "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			r, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			want := http.StatusBadRequest
			if name == "valid chunked" {
				want = http.StatusOK
			}
			rest, err := io.ReadAll(br)
			if r.StatusCode != want || err != nil || len(rest) != 0 {
				t.Fatalf("status %d (want %d), then %q, err %v: the smuggled request was read", r.StatusCode, want, firstLine(string(rest)), err)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
