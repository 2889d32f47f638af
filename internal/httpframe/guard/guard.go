// Package guard puts httpframe's checks in front of an HTTP/1.1 server:
// a listener wrapper that sees every request head before the server
// (net/http, or fasthttp in socklab serve) does, and the handler side that
// answers what it refused.
package guard

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/socklab/socklab/internal/httpframe"
)

// Guard checks every request head on its connections before net/http reads
// it. A refused request reaches net/http as a stand-in head that only the
// Guard could have written (it carries a per-Guard secret); the handler
// asks Rejection and answers it like any response, so the answer is logged
// and ordered after the responses before it on the connection, and the
// connection closes after it. Nothing of a refused request is passed on.
//
// After a request with Transfer-Encoding, the connection carries nothing
// more: bytes after its body are dropped, and MustClose tells the handler
// to close. After CONNECT or an Upgrade request, bytes pass unchecked (a
// tunnel's), and MustClose again has the connection close if the handler
// did not take it over.
//
// Memory per connection is bounded by the Limits: a head is held whole
// until it is checked, never beyond MaxHeaderBytes.
type Guard struct {
	lim    httpframe.Limits
	secret string
}

// New returns a Guard with the given limits.
func New(lim httpframe.Limits) *Guard {
	return &Guard{lim: lim.WithDefaults(), secret: rand.Text()}
}

// Limits reports the limits in force, defaults filled in.
func (g *Guard) Limits() httpframe.Limits { return g.lim }

// rejectField carries a refusal from the Guard to the handler.
const rejectField = "Socklab-Frame-Reject"

// Rejection reports whether r is the stand-in for a request the Guard
// refused, and why. It removes the marker field from r either way, so a
// client's own copy of it goes no further.
func (g *Guard) Rejection(r *http.Request) (*httpframe.Error, bool) {
	v, ok := r.Header[rejectField]
	if !ok {
		return nil, false
	}
	delete(r.Header, rejectField)
	if len(v) != 1 {
		return nil, false
	}
	return g.Refusal(v[0])
}

// RejectField is the marker field of a stand-in head, for servers other
// than net/http (fasthttp) that look it up themselves and pass its value
// to Refusal.
const RejectField = rejectField

// Refusal reports whether v, the value of a request's RejectField, was
// written by this Guard, and what it refused. A client's own copy of the
// field is not: its value lacks the Guard's secret.
func (g *Guard) Refusal(v string) (*httpframe.Error, bool) {
	secret, rest, _ := strings.Cut(v, " ")
	code, reason, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil || subtle.ConstantTimeCompare([]byte(secret), []byte(g.secret)) != 1 {
		return nil, false
	}
	return &httpframe.Error{Status: status, Reason: reason}, true
}

// MustClose reports whether the connection must close after r's response:
// r had a Transfer-Encoding (RFC 9112 §6.1: a server may close; nothing
// after a chunked body is trusted), or asked for a tunnel (CONNECT,
// Upgrade) that the handler did not open.
func MustClose(r *http.Request) bool {
	return len(r.TransferEncoding) > 0 || r.Method == http.MethodConnect || r.Header.Get("Upgrade") != ""
}

// Handler answers the requests g refused with their status and a short
// text, and marks the responses after which the connection must close;
// everything else goes to h.
func (g *Guard) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e, ok := g.Rejection(r); ok {
			WriteRejection(w, e)
			return
		}
		if MustClose(r) {
			w.Header().Set("Connection", "close")
		}
		restoreTLS(r)
		h.ServeHTTP(w, r)
	})
}

// WriteRejection answers a refused request; the connection closes after.
func WriteRejection(w http.ResponseWriter, e *httpframe.Error) {
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, "%d %s: %s\n", e.Status, http.StatusText(e.Status), e.Reason)
}

// Listener wraps ln so that each accepted connection is guarded.
func (g *Guard) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, g: g} }

type listener struct {
	net.Listener
	g *Guard
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.g.Conn(c), nil
}

// Unwrap and WrapConn let a wrapper outside (connlimit) accept from the
// socket itself and guard what it accepted.
func (l *listener) Unwrap() net.Listener         { return l.Listener }
func (l *listener) WrapConn(c net.Conn) net.Conn { return l.g.Conn(c) }

// Conn guards one connection.
func (g *Guard) Conn(c net.Conn) net.Conn { return &conn{Conn: c, g: g} }

type connState uint8

const (
	stHead    connState = iota // reading a request head
	stLength                   // Content-Length body
	stChunked                  // chunked body
	stOpaque                   // a tunnel's bytes: passed unchecked
	stDiscard                  // after a refusal or a chunked body: dropped
	stBroken                   // a chunked body went wrong mid-way
)

// conn hands net/http only bytes whose place in a message it checked.
type conn struct {
	net.Conn
	g      *Guard
	in     []byte // read from the client, not yet classified
	out    []byte // classified, waiting for net/http's Read
	st     connState
	after  connState // where a body's end leads
	left   int64     // stLength: body bytes to come
	chunks httpframe.ChunkScanner
	broken error
	rbuf   []byte
	// scanned is how much of in the last incomplete Scan saw: a head
	// can only end at a new LF, so a client trickling bytes does not make
	// every read rescan what it sent before.
	scanned int
}

func (c *conn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if len(c.in) == 0 && (c.st == stOpaque || c.st == stLength && c.left > 0) {
			return c.direct(p)
		}
		ready, err := c.classify()
		if err != nil {
			return 0, err
		}
		if !ready {
			if err := c.fill(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// direct reads body or tunnel bytes straight into p: nothing to check in
// them but their count.
func (c *conn) direct(p []byte) (int, error) {
	if c.st == stLength && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	if c.st == stLength {
		if c.left -= int64(n); c.left == 0 {
			c.st = c.after
		}
	}
	return n, err
}

// fill reads more from the client. Errors (a deadline net/http set, EOF)
// are returned as they are and leave what was buffered in place.
func (c *conn) fill() error {
	if c.rbuf == nil {
		c.rbuf = make([]byte, 4096)
	}
	n, err := c.Conn.Read(c.rbuf)
	if n > 0 {
		if c.st != stDiscard {
			c.in = append(c.in, c.rbuf[:n]...)
		}
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// classify moves checked bytes from in to out; false means it needs more.
func (c *conn) classify() (bool, error) {
	switch c.st {
	case stHead:
		return c.head()
	case stLength:
		if c.left == 0 {
			c.st = c.after
			return true, nil
		}
		n := min(int64(len(c.in)), c.left)
		c.take(int(n))
		if c.left -= n; c.left == 0 {
			c.st = c.after
		}
		return n > 0, nil
	case stChunked:
		n, err := c.chunks.Feed(c.in)
		c.take(n)
		if err != nil {
			c.st, c.broken = stBroken, fmt.Errorf("chunked request body: %w", err)
		} else if c.chunks.Done() {
			c.st = c.after
		}
		return n > 0 || err != nil, nil
	case stOpaque:
		c.take(len(c.in))
		return len(c.out) > 0, nil
	case stDiscard:
		c.in = nil
		return false, nil
	}
	return false, c.broken
}

func (c *conn) take(n int) {
	c.scanned = 0
	c.out, c.in = c.in[:n:n], c.in[n:]
	if len(c.in) == 0 {
		c.in = nil
	}
}

// head checks the buffered head; a chunked request's first chunk-size
// line is checked too before anything is released (unless the client
// waits for 100 Continue), so an invalid size never reaches the origin.
func (c *conn) head() (bool, error) {
	if len(c.in) == 0 {
		return false, nil
	}
	if c.scanned > 0 && bytes.IndexByte(c.in[c.scanned:], '\n') < 0 && len(c.in) <= c.g.lim.MaxHeaderBytes {
		c.scanned = len(c.in)
		return false, nil
	}
	h, err := httpframe.Scan(c.in, c.g.lim)
	if errors.Is(err, httpframe.ErrIncomplete) {
		c.scanned = len(c.in)
		return false, nil
	}
	var e *httpframe.Error
	if errors.As(err, &e) {
		c.reject(e)
		return true, nil
	}
	c.chunks = httpframe.ChunkScanner{}
	if h.Framing == httpframe.Chunked {
		probe := c.chunks
		if _, err := probe.Feed(c.in[h.Len:]); err != nil {
			c.reject(httpframe.Bad("chunked request body: %v", err))
			return true, nil
		}
		if !probe.SawSize() && !h.ExpectContinue {
			c.scanned = len(c.in)
			return false, nil
		}
	}
	c.take(h.Len)
	c.out = withCRLF(c.out)
	c.after = stHead
	switch {
	case h.Framing == httpframe.Chunked:
		c.after = stDiscard
	case h.Tunnel:
		c.after = stOpaque
	}
	switch h.Framing {
	case httpframe.Length:
		c.st, c.left = stLength, h.ContentLength
	case httpframe.Chunked:
		c.st = stChunked
	default:
		c.st = c.after
	}
	return true, nil
}

// withCRLF returns head with every bare LF line end made CRLF. The guard,
// like net/http and nginx, takes a lone LF as a line end (RFC 9112 §2.2
// allows it); fasthttp, behind it in serve and the proxy's front, does
// not, and answered 400 or waited for a CRLF that never came. Handing on
// the head in the one form every parser reads alike also leaves no room
// for two of them to disagree on where it ends. A head already in CRLF
// form (every client but a hand-typed one) is returned as it is.
func withCRLF(head []byte) []byte {
	lf := bytes.Count(head, []byte("\n"))
	if lf == bytes.Count(head, []byte("\r\n")) {
		return head
	}
	out := make([]byte, 0, len(head)+lf)
	for line := range bytes.Lines(head) {
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		out = append(append(out, line...), '\r', '\n')
	}
	return out
}

// reject replaces the refused request with the stand-in head and drops
// the rest of the connection's input.
func (c *conn) reject(e *httpframe.Error) {
	method, target, host := "GET", "/", "invalid"
	if line, _, ok := strings.Cut(string(c.in[:min(len(c.in), 2048)]), "\n"); ok {
		m, t, _ := httpframe.RequestLine(strings.TrimSuffix(line, "\r"))
		if isToken(m) && m != http.MethodConnect && isTarget(t) {
			method, target = m, t
		}
	}
	if h, _ := httpframe.Scan(c.in, httpframe.Limits{MaxHeaderBytes: 1 << 30, MaxFields: 1 << 30}); isHost(h.Host) {
		host = h.Host
	}
	reason := strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, e.Reason)
	c.out = fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\n%s: %s %d %s\r\n\r\n", method, target, host, rejectField, c.g.secret, e.Status, reason)
	c.in, c.st, c.scanned = nil, stDiscard, 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isTarget reports whether net/http would take s as a request target, so
// the stand-in head keeps the refused request's target for the log.
func isTarget(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	_, err := url.ParseRequestURI(s)
	return err == nil
}

func isHost(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// NetConn returns the connection underneath (connlimit peeks at its
// socket; net/http's ConnState hooks find their own wrapper through it).
func (c *conn) NetConn() net.Conn { return c.Conn }

// ReadFrom passes the connection's io.ReaderFrom through (sendfile(2)).
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite passes the half-close through: net/http uses it to let an
// error response reach the client before the connection closes.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
