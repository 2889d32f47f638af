package webserver

import (
	"net/http"
	"time"
)

// bytesPath is the generated-body endpoint for TCP throughput tests.
const bytesPath = "/_socklab/bytes"

// Header values every response carries; len == cap, so an Add copies.
var (
	serverHeader  = []string{"socklab"}
	nosniffHeader = []string{"nosniff"}
)

// ServeHTTP routes one request and records it in the access log and metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w, cacheControl: s.cacheControl}
	h := rw.Header()
	h["Server"] = serverHeader
	h["X-Content-Type-Options"] = nosniffHeader
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		// RFC 9110 §15.5.6: a 405 must list the methods the target supports.
		h.Set("Allow", "GET, HEAD")
		writeError(rw, r, http.StatusMethodNotAllowed, "This server only answers GET and HEAD.")
	case r.URL.Path == bytesPath:
		serveBytes(rw, r)
	default:
		s.serveFile(rw, r)
	}
	if rw.status == 0 { // a handler that wrote nothing at all
		rw.status = http.StatusOK
	}
	d := time.Since(start)
	if s.access != nil {
		s.access.log(r, rw.status, rw.bytes, start)
	}
	if s.metrics != nil {
		s.metrics.observe(r.Method, rw.status, rw.bytes, d)
	}
}
