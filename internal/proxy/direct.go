package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A GET or HEAD without a body that the fast path cannot answer (a miss,
// a revalidation, a conditional, a range, a Vary entry) is served on the
// front's own goroutine: the proxy's handler runs with a response writer
// that writes into the connection's buffer (directWriter), instead of the
// request being handed to the parked net/http side and back (bridge.go).
// That saves a miss two goroutine handoffs, net/http's second parse of
// the head and its per-request buffers. What needs net/http's connection
// handling stays bridged: request bodies (Expect, chunked framing,
// discarding unread bodies), Upgrade and CONNECT (Hijack), HTTP/1.0 (its
// keep-alive rules), the guard's refusals, and any head net/http's own
// parser would refuse (it answers the 400).

// directable reports whether the current request may be served directly:
// GET or HEAD, HTTP/1.1, no body, nothing that asks for a tunnel or an
// interim 100, not a refusal from the guard, one valid Host field (as
// net/http's server requires; ReadRequest drops the field).
func (fc *fconn) directable() bool {
	h := &fc.hdr
	if !fc.allowed || !h.IsHTTP11() || !h.IsGet() && !h.IsHead() {
		return false
	}
	if cl := h.ContentLength(); cl != 0 && cl != -2 {
		return false
	}
	hosts := 0
	for k, v := range h.All() {
		if len(k) == 0 {
			return false
		}
		switch k[0] | 0x20 {
		case 'h':
			if asciiEq(k, "Host") {
				hosts++
				if !validBytes(b2s(v), hostByte) {
					return false
				}
			}
		case 'e':
			if asciiEq(k, "Expect") {
				return false
			}
		case 's':
			if asciiEq(k, "Socklab-Frame-Reject") {
				return false
			}
		case 't':
			if asciiEq(k, "Transfer-Encoding") {
				return false
			}
		case 'u':
			if asciiEq(k, "Upgrade") {
				return false
			}
		}
	}
	return hosts == 1
}

// directRequest parses the current head as net/http's server would, and
// makes the same checks before it calls a handler. It returns nil when
// net/http would refuse the head: the bridge then lets net/http answer.
func (fc *fconn) directRequest() *http.Request {
	fc.head = appendHead(fc.head[:0], &fc.hdr)
	fc.hr.Reset(bytes.NewReader(fc.head))
	r, err := http.ReadRequest(fc.hr)
	if err != nil || r.ProtoMajor != 1 || r.ContentLength != 0 {
		return nil
	}
	for k, vv := range r.Header {
		if k == "" || !validBytes(k, tokenByte) {
			return nil
		}
		for _, v := range vv {
			if !validBytes(v, valueByte) {
				return nil
			}
		}
	}
	r.RemoteAddr = fc.remote
	return r
}

// validBytes reports whether every byte of s passes ok. With the three
// tests below it makes net/http's server checks (httpguts' Host, field
// name and value), at most stricter: a head that fails goes to net/http,
// which decides.
func validBytes(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }

func hostByte(c byte) bool { return alnum(c) || strings.IndexByte("-._~:[]%!$&'()*+,;=", c) >= 0 }

func tokenByte(c byte) bool { return alnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 }

// valueByte: no control bytes but HTAB (RFC 9110 §5.5).
func valueByte(c byte) bool { return c >= ' ' && c != 0x7f || c == '\t' }

// appendHead appends the request head as the client sent it (fasthttp
// keeps the raw field lines).
func appendHead(b []byte, h interface {
	Method() []byte
	RequestURI() []byte
	Protocol() []byte
	RawHeaders() []byte
}) []byte {
	b = append(b, h.Method()...)
	b = append(b, ' ')
	b = append(b, h.RequestURI()...)
	b = append(b, ' ')
	b = append(b, h.Protocol()...)
	b = append(b, "\r\n"...)
	if raw := h.RawHeaders(); len(raw) > 0 {
		return append(b, raw...)
	}
	return append(b, "\r\n"...)
}

// serveDirect serves the current request with the proxy's handler on this
// goroutine. taken false: the request is left to the bridge. keep reports
// whether the connection stays open.
func (fc *fconn) serveDirect() (taken, keep bool) {
	r := fc.directRequest()
	if r == nil {
		return false, false
	}
	ctx, cancel := context.WithCancel(fc.ctx)
	defer cancel()
	r = r.WithContext(ctx)
	w := &directWriter{fc: fc, req: r, header: http.Header{}, clen: -1}
	fc.f.p.counters.direct.Add(1)
	fc.watch(cancel)
	// After a panic (http.ErrAbortHandler: the handler cut the response)
	// what is buffered goes out and the connection closes without
	// completing the message, as with net/http.
	keep = !fc.runHandler(w, r) && w.finish()
	// The response leaves before the watch is wound down: ending it
	// wakes a goroutine, which is no reason to keep the client waiting.
	if fc.bw.Flush() != nil {
		keep = false
	}
	fc.unwatch()
	return true, keep
}

// runHandler calls the proxy's handler; it reports whether the handler
// panicked (net/http logs a panic other than http.ErrAbortHandler).
func (fc *fconn) runHandler(w *directWriter, r *http.Request) (aborted bool) {
	defer func() {
		if v := recover(); v != nil {
			aborted = true
			if v != http.ErrAbortHandler {
				fc.f.p.log.Error("panic serving request", "client", fc.client, "url", r.URL.String(), "panic", fmt.Sprint(v))
			}
		}
	}()
	fc.f.p.ServeHTTP(w, r)
	return false
}

// watch cancels the request when the client goes away (EOF, reset) while
// the handler runs, as net/http's background read does: a waiter for a
// coalesced miss or a slow upstream stops then. Bytes of a pipelined next
// request just stay buffered.
func (fc *fconn) watch(cancel context.CancelFunc) {
	fc.watchStop.Store(false)
	go func() {
		if _, err := fc.br.Peek(1); err != nil && !fc.watchStop.Load() {
			cancel()
		}
		fc.watchDone <- struct{}{}
	}()
}

// unwatch ends the watch: a read deadline in the past wakes the read at
// once, on this goroutine's processor.
func (fc *fconn) unwatch() {
	fc.watchStop.Store(true)
	_ = fc.c.SetReadDeadline(aLongTimeAgo)
	<-fc.watchDone
	_ = fc.c.SetReadDeadline(time.Time{})
}

var aLongTimeAgo = time.Unix(1, 0)

// bufferBeforeChunking is net/http's: a body no longer than this, written
// without a flush, goes out with a Content-Length instead of chunked.
const bufferBeforeChunking = 2048

// directWriter is an http.ResponseWriter over the front's connection
// buffer that frames a response as net/http's server does (its
// chunkWriter.writeHeader): the header as it stood at WriteHeader, Date
// added, Content-Type sniffed when absent, Content-Length for a short body
// written in full before the handler returned, chunked otherwise, the
// fields a 304 or 204 must not carry removed, 1xx responses written and
// flushed at once.
type directWriter struct {
	fc     *fconn
	req    *http.Request
	header http.Header // the handler's
	sent   http.Header // as it stood at WriteHeader

	status     int
	wrote      bool  // a final status was set
	headOut    bool  // the head is in the connection's buffer
	chunked    bool  // the body goes out chunked
	clen       int64 // declared Content-Length, -1: none
	written    int64 // body bytes the handler wrote
	pending    []byte
	closeAfter bool
	err        error // a write to the client failed
}

func (w *directWriter) Header() http.Header { return w.header }

func (w *directWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		bw := w.fc.bw
		writeStatusLine(bw, code)
		_ = w.header.WriteSubset(bw, map[string]bool{"Content-Length": true, "Transfer-Encoding": true})
		_, _ = bw.WriteString("\r\n")
		w.setErr(bw.Flush())
		return
	}
	w.wrote, w.status = true, code
	w.sent = w.header.Clone()
	if cl := w.sent.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.clen = v
		} else {
			w.sent.Del("Content-Length")
		}
	}
}

func (w *directWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.clen != -1 && w.written > w.clen {
		return 0, http.ErrContentLength
	}
	if !w.headOut {
		if len(w.pending)+len(p) <= bufferBeforeChunking {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.writeHead(false)
	}
	w.body(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// Flush sends the head if it is not out yet, and everything buffered.
func (w *directWriter) Flush() { _ = w.FlushError() }

func (w *directWriter) FlushError() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headOut {
		w.writeHead(false)
	}
	w.setErr(w.fc.bw.Flush())
	return w.err
}

// finish completes the response after the handler returned; it reports
// whether the connection may carry another request.
func (w *directWriter) finish() bool {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headOut {
		w.writeHead(true)
	}
	if w.chunked {
		_, err := w.fc.bw.WriteString("0\r\n\r\n")
		w.setErr(err)
	}
	short := w.req.Method != http.MethodHead && w.clen != -1 && bodyAllowed(w.status) && w.clen != w.written
	return !w.closeAfter && !short && w.err == nil
}

func (w *directWriter) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

// body writes p as the response body, framed as the head said.
func (w *directWriter) body(p []byte) {
	if len(p) == 0 || w.req.Method == http.MethodHead || w.err != nil {
		return
	}
	bw := w.fc.bw
	if w.chunked {
		var size [16]byte
		_, _ = bw.Write(strconv.AppendInt(size[:0], int64(len(p)), 16))
		_, _ = bw.WriteString("\r\n")
	}
	_, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	w.setErr(err)
}

// writeHead decides the framing and writes the head, then the body
// buffered so far; done says the handler has returned. The rules are
// net/http's (server.go, chunkWriter.writeHeader) for an HTTP/1.1
// request without a body.
func (w *directWriter) writeHead(done bool) {
	w.headOut = true
	exclude, x := w.frame(done)
	bw := w.fc.bw
	writeStatusLine(bw, w.status)
	_ = w.sent.WriteSubset(bw, exclude)
	if _, ok := w.sent["Date"]; !ok {
		var buf [len(http.TimeFormat) + 8]byte
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(time.Now().UTC().AppendFormat(buf[:0], http.TimeFormat))
		_, _ = bw.WriteString("\r\n")
	}
	if x.length != "" {
		_, _ = bw.WriteString("Content-Length: " + x.length + "\r\n")
	}
	for _, kv := range [][2]string{{"Content-Type", x.ctype}, {"Connection", x.conn}, {"Transfer-Encoding", x.te}} {
		if kv[1] != "" {
			_, _ = bw.WriteString(kv[0] + ": " + kv[1] + "\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	w.setErr(err)
	p := w.pending
	w.pending = nil
	w.body(p)
}

// extraFields are the fields the server adds to the handler's.
type extraFields struct{ length, ctype, conn, te string }

// frame decides the response's framing: the handler's fields to leave out
// and the fields to add; it sets w.clen, w.chunked and w.closeAfter.
func (w *directWriter) frame(done bool) (exclude map[string]bool, x extraFields) {
	h, code, isHead := w.sent, w.status, w.req.Method == http.MethodHead
	del := func(k string) {
		if _, ok := h[k]; ok {
			if exclude == nil {
				exclude = map[string]bool{}
			}
			exclude[k] = true
		}
	}
	te := h.Get("Transfer-Encoding")
	hasTE := te != ""
	if done && !hasTE && bodyAllowed(code) && w.clen == -1 && (!isHead || len(w.pending) > 0) {
		w.clen = int64(len(w.pending))
		x.length = strconv.Itoa(len(w.pending))
	}
	hasCL := w.clen != -1
	if w.req.Close || h.Get("Connection") == "close" {
		w.closeAfter = true
	}
	if bodyAllowed(code) {
		if _, haveType := h["Content-Type"]; !haveType && h.Get("Content-Encoding") == "" && !hasTE && len(w.pending) > 0 {
			x.ctype = http.DetectContentType(w.pending)
		}
	} else {
		del("Content-Length")
		del("Transfer-Encoding")
		if code == http.StatusNotModified {
			del("Content-Type")
		}
	}
	if hasCL && hasTE && te != "identity" {
		del("Content-Length")
		hasCL = false
	}
	switch {
	case isHead || !bodyAllowed(code) || code == http.StatusNoContent, hasCL:
		del("Transfer-Encoding")
	case te == "identity":
		w.closeAfter = true
		del("Transfer-Encoding")
	default:
		w.chunked, x.te = true, "chunked"
		del("Content-Length")
		if te == "chunked" {
			del("Transfer-Encoding")
		}
	}
	if w.closeAfter && !hasToken(h.Get("Connection"), "close") {
		del("Connection")
		x.conn = "close"
	}
	return exclude, x
}

func writeStatusLine(bw *bufio.Writer, code int) {
	if text := http.StatusText(code); text != "" {
		_, _ = bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n")
		return
	}
	_, _ = fmt.Fprintf(bw, "HTTP/1.1 %03d status code %d\r\n", code, code)
}

// bodyAllowed is net/http's bodyAllowedForStatus.
func bodyAllowed(code int) bool {
	switch {
	case code >= 100 && code <= 199, code == http.StatusNoContent, code == http.StatusNotModified:
		return false
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token (any case).
func hasToken(v, token string) bool {
	for tok := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(tok), token) {
			return true
		}
	}
	return false
}
