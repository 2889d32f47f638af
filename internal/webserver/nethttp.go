package webserver

import (
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"time"
)

// The net/http engine: HTTP/2 and HTTP/1.1 over TLS (fasthttp speaks
// neither HTTP/2 nor ALPN), and a Server mounted as an http.Handler in
// tests.

var _ http.Handler = (*Server)(nil)

// serverHeader is sent on every response; len == cap, so an Add copies.
var serverHeader = []string{"socklab"}

// netHeader reads a net/http request's header.
type netHeader http.Header

func (h netHeader) get(k string) string { return textproto.MIMEHeader(h).Get(k) }

// ServeHTTP answers one request through the handler shared with fasthttp.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := request{
		method: r.Method, path: r.URL.Path, rawQuery: r.URL.RawQuery,
		uri: r.RequestURI, proto: r.Proto, remote: r.RemoteAddr, header: netHeader(r.Header), at: time.Now(),
	}
	var rep reply
	s.handle(&req, &rep)
	writeNet(w, r.Method, &rep)
}

// writeNet sends rep: its fields, Content-Length from its body, and the
// body unless the method or status has none; an *os.File stream goes out
// through the connection's ReadFrom (sendfile(2)).
func writeNet(w http.ResponseWriter, method string, rep *reply) {
	h := w.Header()
	h["Server"] = serverHeader
	for _, f := range rep.fields[:rep.nf] {
		h.Add(f.k, f.v)
	}
	if rep.status != http.StatusNotModified && rep.status != http.StatusNoContent {
		h.Set("Content-Length", strconv.FormatInt(rep.size, 10))
	}
	w.WriteHeader(rep.status)
	if rep.bodyBytes(method) == 0 {
		rep.release()
		return
	}
	if rep.stream == nil {
		_, _ = w.Write(rep.body)
		return
	}
	defer rep.release()
	if rf, ok := w.(io.ReaderFrom); ok {
		_, _ = rf.ReadFrom(io.LimitReader(rep.stream, rep.size))
		return
	}
	_, _ = io.CopyN(w, rep.stream, rep.size)
}
