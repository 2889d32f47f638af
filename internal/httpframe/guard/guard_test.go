package guard

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/socklab/socklab/internal/httpframe"
)

// serve runs an echo server behind a Guard on 127.0.0.1 and returns its
// address: each response body is the method, path, body and whether a
// marker field reached the handler.
func serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := New(httpframe.Limits{})
	srv := &http.Server{Handler: g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, marked := r.Header[rejectField]
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(b)+" "+map[bool]string{true: "marked", false: "clean"}[marked])
	}))}
	go srv.Serve(g.Listener(ln))
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return ln.Addr().String()
}

// roundTrips writes req (in pieces of size step, 0 for one write) and
// reads n responses' bodies.
func roundTrips(t *testing.T, addr, req string, step, n int) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		for step > 0 && len(req) > step {
			io.WriteString(c, req[:step])
			req = req[step:]
			time.Sleep(time.Millisecond) // separate segments, not synchronisation
		}
		io.WriteString(c, req)
	}()
	br := bufio.NewReader(c)
	var out []string
	for range n {
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", len(out)+1, err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		out = append(out, r.Status+": "+string(b))
	}
	return out
}

func TestPipelinedAndTrickled(t *testing.T) {
	addr := serve(t)
	req := "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /b HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	want := "200 OK: POST /a hello clean|200 OK: GET /b  clean|200 OK: POST /c abc clean"
	for _, step := range []int{0, 1, 7} {
		if got := strings.Join(roundTrips(t, addr, req, step, 3), "|"); got != want {
			t.Errorf("step %d: %s", step, got)
		}
	}
}

// A client's own marker field is neither obeyed nor passed on.
func TestForgedMarkerIgnored(t *testing.T) {
	addr := serve(t)
	got := roundTrips(t, addr, "GET /f HTTP/1.1\r\nHost: x\r\n"+rejectField+": guess 400 no\r\n\r\n", 0, 1)
	if got[0] != "200 OK: GET /f  clean" {
		t.Errorf("forged marker: %s", got[0])
	}
}

// A refused request after a good one is answered in order, then the
// connection closes.
func TestRefusalAfterGoodRequest(t *testing.T) {
	addr := serve(t)
	got := roundTrips(t, addr, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /bad HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 0, 2)
	if !strings.HasPrefix(got[0], "200 OK: GET /ok") || !strings.HasPrefix(got[1], "400 Bad Request: 400 Bad Request: obs-fold") {
		t.Errorf("responses: %q", got)
	}
}

func TestWithCRLF(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"crlf kept", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"bare lf", "GET / HTTP/1.1\nHost: x\n\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"mixed", "GET / HTTP/1.1\r\nHost: x\nA: b\r\n\n", "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n"},
		{"leading empty lines", "\n\r\nGET / HTTP/1.0\n\n", "\r\n\r\nGET / HTTP/1.0\r\n\r\n"},
	} {
		if got := string(withCRLF([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Heads with bare LF line ends (nc without -C, a hand-typed request) are
// read as net/http and nginx read them, pipelined and trickled alike, and
// a body after such a head keeps its bytes.
func TestBareLFHeads(t *testing.T) {
	addr := serve(t)
	req := "POST /a HTTP/1.1\nHost: x\nContent-Length: 5\n\nhello" +
		"GET /b HTTP/1.1\nHost: x\r\n\n"
	want := "200 OK: POST /a hello clean|200 OK: GET /b  clean"
	for _, step := range []int{0, 1, 5} {
		if got := strings.Join(roundTrips(t, addr, req, step, 2), "|"); got != want {
			t.Errorf("step %d: %s", step, got)
		}
	}
}
