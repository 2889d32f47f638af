package webserver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// The fasthttp engine: plain HTTP/1.1, behind the guard. fasthttp parses
// a request into buffers it reuses and writes the response after the
// handler returns, with no per-request allocation of its own; an
// *os.File body goes out with sendfile(2).

// maxRequestBody caps a request body fasthttp reads before the handler
// (it reads bodies whole, and so checks a chunked one's framing itself): a
// static server takes none, and nginx's client_max_body_size is 1 MiB
// too. A larger one gets the 405 any method but GET and HEAD gets, as on
// net/http, or a 413 on GET and HEAD (fastError).
const maxRequestBody = 1 << 20

// newFastServer configures fasthttp for s.
func (s *Server) newFastServer(g *guard.Guard) *fasthttp.Server {
	return &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) { s.serveFast(ctx, g) },
		Name:    "socklab",
		// ReadTimeout runs from a request's first byte to its end: with
		// the guard in front, the first byte reaches fasthttp only with
		// the whole head, so this bounds a head as ReadHeaderTimeout did.
		ReadTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout: s.cfg.IdleTimeout,
		// The guard refuses heads over MaxHeaderBytes (431); fasthttp has
		// to hold one whole in its read buffer.
		ReadBufferSize:     s.cfg.MaxHeaderBytes + 4096,
		MaxRequestBodySize: maxRequestBody,
		// Buffers are taken when a request arrives and given back while
		// the connection idles, so thousands of idle or slowloris
		// connections do not each pin a read buffer.
		ReduceMemoryUsage:    true,
		NoDefaultContentType: true,
		CloseOnShutdown:      true,
		ConnState:            s.conns.FastConnState,
		ErrorHandler:         s.fastError,
		Logger:               fastLogger{s.log},
	}
}

// fastHeader reads a fasthttp request's header.
type fastHeader struct{ h *fasthttp.RequestHeader }

func (f fastHeader) get(k string) string { return b2s(f.h.Peek(k)) }

// b2s views b as a string without a copy: valid while b is (the request's
// buffers live until the handler returns).
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// serveFast answers one request.
func (s *Server) serveFast(ctx *fasthttp.RequestCtx, g *guard.Guard) {
	h := &ctx.Request.Header
	r := request{
		method: b2s(h.Method()), uri: b2s(h.RequestURI()), proto: b2s(h.Protocol()),
		addr: ctx.RemoteAddr(), header: fastHeader{h}, at: ctx.Time(),
	}
	var rep reply
	if v := h.Peek(guard.RejectField); v != nil {
		if e, ok := g.Refusal(b2s(v)); ok {
			s.reject(&r, &rep, e)
			ctx.SetConnectionClose()
			writeFast(ctx, &rep)
			return
		}
	}
	switch {
	case !httpMajor1(r.proto):
		// RFC 9112 §2.3: only HTTP/1.x is spoken here (net/http's 505).
		writeError(&rep, &r, http.StatusHTTPVersionNotSupported, "This server speaks HTTP/1.1.")
		s.finish(&r, &rep, r.at)
		ctx.SetConnectionClose()
	case !parseTarget(&r):
		writeError(&rep, &r, http.StatusBadRequest, "The request target is malformed.")
		s.finish(&r, &rep, r.at)
	default:
		s.handle(&r, &rep)
	}
	// RFC 9112 §6.1: nothing after a chunked body is trusted (the guard
	// dropped it), and a tunnel is not opened here.
	if h.ContentLength() == -1 || h.IsConnect() || len(h.Peek("Upgrade")) > 0 || hasTransferEncoding(h.RawHeaders()) {
		ctx.SetConnectionClose()
	}
	writeFast(ctx, &rep)
}

// parseTarget sets r's path and query from its request target as net/http
// reads it (RFC 9112 §3.2): origin-form, or absolute-form whose path is
// taken; the path is percent-decoded once. False when the target is
// neither or does not decode.
func parseTarget(r *request) bool {
	target := r.uri
	if target == "" || target[0] != '/' {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Scheme == "" || u.Opaque != "" {
			return false
		}
		r.path, r.rawQuery = u.Path, u.RawQuery
		return true
	}
	p, q := target, ""
	for i := 0; i < len(target); i++ {
		if target[i] == '?' {
			p, q = target[:i], target[i+1:]
			break
		}
	}
	path, err := url.PathUnescape(p)
	if err != nil {
		return false
	}
	r.path, r.rawQuery = path, q
	return true
}

// httpMajor1 reports whether proto is HTTP/1.x.
func httpMajor1(proto string) bool { return len(proto) == 8 && proto[:7] == "HTTP/1." }

// hasTransferEncoding reports whether a raw request head has a
// Transfer-Encoding field: fasthttp drops it once it has read a chunked
// body that turned out empty.
func hasTransferEncoding(raw []byte) bool {
	const name = "transfer-encoding:"
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) >= len(name) && bytes.EqualFold(line[:len(name)], []byte(name)) {
			return true
		}
	}
	return false
}

// writeFast hands rep to fasthttp, which writes it after the handler
// returns: Content-Length from the body, no body for HEAD, 304 or 204,
// and an *os.File stream by sendfile(2) (then closed).
func writeFast(ctx *fasthttp.RequestCtx, rep *reply) {
	resp := &ctx.Response
	resp.SetStatusCode(rep.status)
	for _, f := range rep.fields[:rep.nf] {
		resp.Header.Add(f.k, f.v)
	}
	if rep.stream != nil {
		resp.SetBodyStream(rep.stream, int(rep.size))
		return
	}
	resp.SetBodyRaw(rep.body)
}

// reject answers a request the guard refused (ambiguous framing, a head
// too large): its status and a short text; the connection closes after.
func (s *Server) reject(r *request, rep *reply, e *httpframe.Error) {
	rep.status = e.Status
	rep.set("Content-Type", "text/plain; charset=utf-8")
	rep.set("X-Content-Type-Options", "nosniff")
	rep.setBody(fmt.Appendf(nil, "%d %s: %s\n", e.Status, http.StatusText(e.Status), e.Reason))
	r.path = "/"
	s.finish(r, rep, time.Now())
}

// fastError answers a request fasthttp could not read: with the HTML
// error pages, and for a body over maxRequestBody what the handler would
// have answered (405 unless GET or HEAD; those get 413). fasthttp closes
// the connection after.
func (s *Server) fastError(ctx *fasthttp.RequestCtx, err error) {
	var rep reply
	rep.set("X-Content-Type-Options", "nosniff")
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		h := &ctx.Request.Header
		r := request{method: b2s(h.Method()), uri: b2s(h.RequestURI()), proto: b2s(h.Protocol()), addr: ctx.RemoteAddr(), header: fastHeader{h}}
		if r.method != http.MethodGet && r.method != http.MethodHead {
			rep.set("Allow", "GET, HEAD")
			writeError(&rep, &r, http.StatusMethodNotAllowed, "")
		} else {
			writeError(&rep, &r, http.StatusRequestEntityTooLarge, "A GET or HEAD request has no use for a body this large.")
		}
		s.finish(&r, &rep, time.Now())
	case errors.As(err, new(*fasthttp.ErrSmallBuffer)):
		writeError(&rep, nil, http.StatusRequestHeaderFieldsTooLarge, "The request header is too large.")
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(&rep, nil, http.StatusRequestTimeout, "The request took too long to arrive.")
	default:
		writeError(&rep, nil, http.StatusBadRequest, "")
	}
	writeFast(ctx, &rep)
}

// fastLogger passes fasthttp's messages (connection errors) to the
// operational log at debug level.
type fastLogger struct{ log *slog.Logger }

func (l fastLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "engine", "fasthttp")
}
