package webserver

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestLargeBody405: a request body, however large, does not change the
// answer: a POST of 64 MiB gets the 405 a bodiless one gets (as it did on
// net/http), without the server waiting for the body; the connection then
// closes rather than read it all.
func TestLargeBody405(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 67108864\r\n\r\n"+strings.Repeat("x", 64<<10))
	b, err := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 405 ") {
		t.Fatalf("got %q (%v), want a 405 and the connection closed", firstLine(string(b)), err)
	}
}
