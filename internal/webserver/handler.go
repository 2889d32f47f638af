package webserver

import (
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// bytesPath is the generated-body endpoint for TCP throughput tests.
const bytesPath = "/_socklab/bytes"

// handle answers one request into rep, whichever engine carries it, and
// records it in the access log and metrics.
func (s *Server) handle(r *request, rep *reply) {
	rep.set("X-Content-Type-Options", "nosniff")
	switch {
	case r.method != http.MethodGet && r.method != http.MethodHead:
		// RFC 9110 §15.5.6: a 405 must list the methods the target supports.
		rep.set("Allow", "GET, HEAD")
		writeError(rep, r, http.StatusMethodNotAllowed, "This server only answers GET and HEAD.")
	case r.path == bytesPath:
		serveBytes(rep, r)
	default:
		s.serveFile(rep, r)
	}
	s.finish(r, rep, r.at)
}

// finish completes rep (the site's Cache-Control) and records the
// exchange that began at start.
func (s *Server) finish(r *request, rep *reply, start time.Time) {
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if s.cacheControl != "" && stampsCacheControl(rep.status) && rep.get("Cache-Control") == "" {
		rep.set("Cache-Control", s.cacheControl)
	}
	if rep.stream != nil && r.method != http.MethodHead && (s.access != nil || s.metrics != nil) {
		// A stream is written after the handler returns (fasthttp), and
		// may be cut short: the exchange is recorded when it is closed,
		// with the bytes that went out, as nginx logs.
		rep.stream = &recordedStream{src: rep.stream, s: s, r: r.detach(), status: rep.status, start: start}
		return
	}
	s.record(r, rep.status, rep.bodyBytes(r.method), start)
}

// record writes the access-log line and the metrics of one exchange.
func (s *Server) record(r *request, status int, n int64, start time.Time) {
	if s.access != nil {
		s.access.log(r, status, n, start)
	}
	if s.metrics != nil {
		s.metrics.observe(r.method, status, n, time.Since(start))
	}
}

// detach copies what the log needs of r out of the engine's buffers,
// which are reused once the response is written.
func (r *request) detach() *request {
	return &request{
		method: methodLabel(r.method), uri: strings.Clone(r.uri), proto: strings.Clone(r.proto),
		remote: r.clientAddr(),
		header: fixedHeader{referer: strings.Clone(r.header.get("Referer")), agent: strings.Clone(r.header.get("User-Agent"))},
	}
}

// fixedHeader is a detached request's Referer and User-Agent.
type fixedHeader struct{ referer, agent string }

func (h fixedHeader) get(k string) string {
	switch k {
	case "Referer":
		return h.referer
	case "User-Agent":
		return h.agent
	}
	return ""
}

// recordedStream counts the bytes of a response body as the engine
// writes them and records the exchange when the engine closes it. Its
// WriteTo hands a file to the writer's ReadFrom, so sendfile(2) is kept.
type recordedStream struct {
	src    io.Reader
	s      *Server
	r      *request
	status int
	start  time.Time
	n      int64
	once   sync.Once
}

func (w *recordedStream) Read(p []byte) (int, error) {
	n, err := w.src.Read(p)
	w.n += int64(n)
	return n, err
}

func (w *recordedStream) WriteTo(dst io.Writer) (n int64, err error) {
	switch src := w.src.(type) {
	case *os.File:
		if rf, ok := dst.(io.ReaderFrom); ok {
			n, err = rf.ReadFrom(src)
		} else {
			n, err = io.Copy(dst, struct{ io.Reader }{src})
		}
	case io.WriterTo:
		n, err = src.WriteTo(dst)
	default:
		n, err = io.Copy(dst, struct{ io.Reader }{src})
	}
	w.n += n
	return n, err
}

func (w *recordedStream) Close() error {
	w.once.Do(func() {
		closeContent(w.src)
		w.s.record(w.r, w.status, w.n, w.start)
	})
	return nil
}

// stampsCacheControl lists the statuses nginx's "expires" applies to: a
// 404 or a 5xx never gets a lifetime from the site-wide setting.
func stampsCacheControl(code int) bool {
	switch code {
	case 200, 201, 204, 206, 301, 302, 303, 304, 307, 308:
		return true
	}
	return false
}
