package webserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileSmugglingOverTLS (issue 13 #2 over TLS): serve --tls-cert
// checks HTTP/1.1 request framing after the handshake as it does in
// plaintext: ambiguous framing is one 400 and the connection closes, so
// nothing rides inside the first request. HTTP/2 (ALPN h2) is left to its
// own framing and still works.
func TestHostileSmugglingOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	addr, _, _ := startServer(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	const smuggle = "GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	const post = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	for name, req := range map[string]string{
		"CL and TE":           post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
		"TE obs-fold":         post + "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggle,
		"TE last not chunked": post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggle,
		"differing CL":        post + "Content-Length: 5\r\nContent-Length: 48\r\n\r\nhello" + smuggle,
		"chunk size 0x":       post + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n" + smuggle,
		"CL and TE on a GET":  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggle,
	} {
		for _, alpn := range [][]string{{"http/1.1"}, nil} {
			t.Run(name+"/alpn "+strings.Join(alpn, ","), func(t *testing.T) {
				c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: alpn})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				go io.WriteString(c, req)
				br := bufio.NewReader(c)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				rest, err := io.ReadAll(br)
				closed := err == nil || errors.Is(err, syscall.ECONNRESET)
				if resp.StatusCode != http.StatusBadRequest || !closed || len(rest) > 0 {
					t.Errorf("status %d, closed %v (%v), then %q; want one 400 and the connection closed", resp.StatusCode, closed, err, rest)
				}
			})
		}
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: "localhost"},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + addr + "/style.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("h2 client: %s %d", resp.Proto, resp.StatusCode)
	}
}
