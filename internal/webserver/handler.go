package webserver

import (
	"net/http"
	"time"
)

// bytesPath is the generated-body endpoint for TCP throughput tests.
const bytesPath = "/_socklab/bytes"

// handle answers one request into rep, whichever engine carries it, and
// records it in the access log and metrics.
func (s *Server) handle(r *request, rep *reply) {
	start := time.Now()
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
	s.finish(r, rep, start)
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
	n := rep.bodyBytes(r.method)
	if s.access != nil {
		s.access.log(r, rep.status, n, start)
	}
	if s.metrics != nil {
		s.metrics.observe(r.method, rep.status, n, time.Since(start))
	}
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
