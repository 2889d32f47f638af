package webserver

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// fastOnly serves s with fasthttp alone, without the guard in front: what
// fasthttp's own parser does with a request.
func fastOnly(t *testing.T, s *Server) string {
	t.Helper()
	ln := mustListen(t)
	srv := s.newFastServer(guard.New(httpframe.Limits{}))
	go srv.Serve(s.conns.Listen(ln))
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// responses sends raw and reads every response on the connection until it
// closes: their status codes.
func responses(t *testing.T, addr, raw string) []int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var codes []int
	for {
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			return codes
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		codes = append(codes, r.StatusCode)
	}
}

// TestFastParserFraming sends ambiguous framing (issue 13 #2; RFC 9112
// §5.2, §6.1, §6.3, §7.1) straight to fasthttp, without the guard, and
// checks that fasthttp alone never reads the request riding inside the
// first one: every case but two is a 400 and a closed connection. The two
// others are answers RFC 9112 allows but issue 13 does not want: CL with
// TE is served (by TE) and the connection closed (§6.1: "MUST close"),
// and an obs-folded Content-Length is unfolded (§5.2: "replace each
// received obs-fold with one or more SP"). Serve answers both 400 because
// the guard stands in front (TestHostileServeRequestSmuggling).
func TestFastParserFraming(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := fastOnly(t, s)
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			codes := responses(t, addr, tc.req)
			if len(codes) != 1 || codes[0] != tc.fast {
				t.Fatalf("fasthttp alone answered %v, want [%d] and the connection closed", codes, tc.fast)
			}
		})
	}
}

// TestServeFramingGuarded: through Serve (the guard in front of
// fasthttp) every one of those cases is one 400 and a closed connection.
func TestServeFramingGuarded(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	for _, tc := range framingCases {
		t.Run(tc.name, func(t *testing.T) {
			if codes := responses(t, addr, tc.req); len(codes) != 1 || codes[0] != 400 {
				t.Fatalf("answered %v, want [400] and the connection closed", codes)
			}
		})
	}
}

const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"

// framingCases are ambiguous framings; fast is fasthttp's own answer.
var framingCases = []struct {
	name, req string
	fast      int
}{
	{"CL and TE", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 200},
	{"TE obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"chunk size 0x0", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n" + smuggled, 400},
	{"chunk size with sign", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+0\r\n\r\n" + smuggled, 400},
	{"TE not ending in chunked", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"two TE fields", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"two different CL", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 36\r\n\r\n" + smuggled, 400},
	{"CL with sign", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +36\r\n\r\n" + smuggled, 400},
	{"CL obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 35\r\n\r\n" + smuggled, 200},
	{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
	{"bare LF in chunk line", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\n" + smuggled, 400},
}

// A head with bare LF line ends (nc without -C) is served as nginx and
// net/http serve it (RFC 9112 §2.2 lets a recipient take a lone LF as a
// line end): fasthttp alone answered 400, so the guard hands it on in
// CRLF form. Pipelined after it, a CRLF request is served too.
func TestServeBareLFHead(t *testing.T) {
	addr, _, _ := startServer(t, Config{})
	for name, req := range map[string]string{
		"bare LF":           "GET / HTTP/1.1\nHost: a\nConnection: close\n\n",
		"HTTP/1.0, no Host": "GET / HTTP/1.0\n\n",
		"mixed, pipelined":  "GET / HTTP/1.1\r\nHost: a\n\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			codes := responses(t, addr, req)
			want := strings.Count(req, "GET ")
			if len(codes) != want || slices.ContainsFunc(codes, func(c int) bool { return c != 200 }) {
				t.Fatalf("answered %v, want %d × 200", codes, want)
			}
		})
	}
}
