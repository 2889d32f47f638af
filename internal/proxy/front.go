package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/socklab/socklab/internal/connlimit"
	"github.com/socklab/socklab/internal/httpframe"
)

// The front owns every client connection. It reads each request head with
// fasthttp's zero-allocation parser, answers a GET or HEAD that a fresh
// stored response can answer straight from the entry's serialized head
// (hit.go), and hands every other request, untouched, to the net/http
// server underneath (bridge.go): misses, revalidation, conditionals,
// ranges, Vary, POST, PURGE, CONNECT, WebSocket, 1xx relaying and the
// guard's refusals all keep net/http's semantics exactly. After a bridged
// request the connection comes back to the front, so a connection that
// once missed is still served at the fast path's speed.
//
// It is not fasthttp.Server: that server writes every response from its
// own header store (re-serializing each field, stripping CR/LF), so a
// stored head could not be written as bytes, and its hijack path runs each
// bridged request on a new goroutine after having read (and de-chunked)
// the body itself and sent 100 Continue on its own.

// Front timeouts, as the net/http server had them.
const (
	headerTimeout = 30 * time.Second
	idleTimeout   = 2 * time.Minute
	frontBufSize  = 4096
)

// front is the HTTP/1.1 server clients talk to.
type front struct {
	p     *Proxy
	inner *http.Server
	ln    *chanListener

	mu      sync.Mutex
	conns   map[*fconn]struct{}
	closing bool
	wg      sync.WaitGroup
}

// fconn is one client connection and what the front keeps for it.
type fconn struct {
	f       *front
	c       net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	hdr     fasthttp.RequestHeader
	idle    bool   // waiting for a request (f.mu)
	client  string // the client's IP, for the access log
	allowed bool   // the client may use the proxy
	local   netip.AddrPort
	bc      *bridgeConn // the net/http side, parked between bridged requests
	key     []byte      // scratch: the cache key of the current request
	out     []byte      // scratch: the response head's dynamic part
	inm     []string    // scratch: the request's If-None-Match lines (views)
	ims     []string    // and If-Modified-Since
	condHdr http.Header // scratch: those two for httpcache.NotModified
	varyHdr http.Header // scratch: the fields a Vary marker names

	// Served directly (direct.go).
	remote    string
	ctx       context.Context // the connection's: its local address for loop detection
	head      []byte          // scratch: the request head for net/http's parser
	hr        *bufio.Reader
	watchStop atomic.Bool
	watchDone chan struct{}
}

func newFront(p *Proxy, addr net.Addr) *front {
	f := &front{p: p, conns: map[*fconn]struct{}{}, ln: newChanListener(addr)}
	f.inner = &http.Server{
		Handler:           p,
		MaxHeaderBytes:    p.guard.Limits().MaxHeaderBytes,
		ConnState:         f.innerState,
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          newErrorLog(p),
	}
	return f
}

// serve runs the front on every connection ln accepts until ln fails.
func (f *front) serve(ln net.Listener) error {
	go func() { _ = f.inner.Serve(f.ln) }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		fc := f.track(c)
		if fc == nil {
			_ = c.Close()
			continue
		}
		go fc.serve()
	}
}

func (f *front) track(c net.Conn) *fconn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return nil
	}
	fc := &fconn{f: f, c: c, idle: true}
	f.conns[fc] = struct{}{}
	f.wg.Add(1)
	return fc
}

// setIdle records whether fc waits for a request; a waiting connection is
// closed at once when the front shuts down. It reports false when the
// front is closing.
func (fc *fconn) setIdle(idle bool) bool {
	f := fc.f
	f.mu.Lock()
	defer f.mu.Unlock()
	fc.idle = idle
	return !f.closing
}

// shutdown stops new requests: idle connections close now, busy ones after
// their response; ctx's end closes what remains.
func (f *front) shutdown(ctx context.Context) {
	f.mu.Lock()
	f.closing = true
	for fc := range f.conns {
		if fc.idle {
			_ = fc.c.Close()
		}
	}
	f.mu.Unlock()
	if err := f.inner.Shutdown(ctx); err != nil {
		_ = f.inner.Close()
	}
	_ = f.ln.Close()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	f.mu.Lock()
	for fc := range f.conns {
		_ = fc.c.Close()
	}
	f.mu.Unlock()
	<-done
}

// serve reads requests on one connection until it closes.
func (fc *fconn) serve() {
	f, p := fc.f, fc.f.p
	defer func() {
		f.mu.Lock()
		delete(f.conns, fc)
		f.mu.Unlock()
		f.wg.Done()
	}()
	fc.br = bufio.NewReaderSize(fc.c, frontBufSize)
	fc.bw = bufio.NewWriterSize(fc.c, frontBufSize)
	fc.client = hostOf(fc.c.RemoteAddr().String())
	fc.allowed = p.clientAllowed(fc.c.RemoteAddr().String())
	if ap, err := netip.ParseAddrPort(fc.c.LocalAddr().String()); err == nil {
		fc.local = ap
	}
	fc.remote = fc.c.RemoteAddr().String()
	fc.ctx = context.WithValue(context.WithValue(context.Background(), http.ServerContextKey, f.inner), http.LocalAddrContextKey, fc.c.LocalAddr())
	fc.hr = bufio.NewReaderSize(nil, frontBufSize)
	fc.watchDone = make(chan struct{}, 1)
	if fc.loop() {
		_ = fc.c.Close()
	}
	if fc.bc != nil {
		fc.bc.release()
	}
}

// loop serves requests until the connection ends; it reports whether the
// connection is still the front's to close.
func (fc *fconn) loop() bool {
	p := fc.f.p
	first := true
	for {
		if fc.br.Buffered() == 0 {
			if fc.bw.Flush() != nil {
				return true
			}
			if fc.br.Size() > frontBufSize {
				// A large head's buffer is not kept for the idle wait.
				fc.br = bufio.NewReaderSize(fc.c, frontBufSize)
			}
		}
		timeout := idleTimeout
		if first {
			timeout = headerTimeout
		}
		if !fc.setIdle(true) {
			return true
		}
		p.conns.Set(fc.c, connlimit.Idle)
		_ = fc.c.SetReadDeadline(time.Now().Add(timeout))
		if _, err := fc.br.Peek(1); err != nil {
			return true
		}
		if !fc.setIdle(false) {
			return true
		}
		_ = fc.c.SetReadDeadline(time.Now().Add(headerTimeout))
		if err := fc.readHead(); err != nil {
			fc.refuse(err)
			return true
		}
		if fc.ambiguous() {
			fc.refuse(errAmbiguous)
			return true
		}
		_ = fc.c.SetReadDeadline(time.Time{})
		p.conns.Set(fc.c, connlimit.Busy)
		first = false
		if served, keep := fc.serveHit(); served {
			if !keep {
				_ = fc.bw.Flush()
				return true
			}
			continue
		}
		if fc.directable() {
			if taken, keep := fc.serveDirect(); taken {
				if !keep {
					_ = fc.bw.Flush()
					return true
				}
				continue
			}
		}
		if fc.bw.Flush() != nil {
			return true
		}
		if !fc.f.bridge(fc) {
			return false
		}
	}
}

// readHead parses the next request head. A head too long for the
// connection's 4 KiB buffer is read again with one as large as the
// guard allows (the guard has already bounded it).
func (fc *fconn) readHead() error {
	fc.hdr.Reset()
	err := fc.hdr.Read(fc.br)
	var small *fasthttp.ErrSmallBuffer
	if !errors.As(err, &small) {
		return err
	}
	buffered, _ := fc.br.Peek(fc.br.Buffered())
	pre := append([]byte(nil), buffered...)
	fc.br = bufio.NewReaderSize(io.MultiReader(&prefixReader{b: pre}, fc.c), fc.f.p.guard.Limits().MaxHeaderBytes+frontBufSize)
	fc.hdr.Reset()
	return fc.hdr.Read(fc.br)
}

// refuse answers a head fasthttp could not parse (the guard in front
// refuses what it knows first), unless the client just went away. The
// answer is logged like every other one.
func (fc *fconn) refuse(err error) {
	var nothing fasthttp.ErrNothingRead
	if errors.Is(err, io.EOF) || errors.As(err, &nothing) || isTimeout(err) {
		return
	}
	const body = "bad request\n"
	start := fc.f.p.now()
	_, _ = fc.bw.WriteString("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n\r\n" + body)
	sent := int64(len(body))
	if fc.bw.Flush() != nil {
		sent = 0
	}
	fc.logRefused(err, start, sent)
}

// logRefused writes the access entry of a head refused unparsed: its
// method and target as far as the request line gives them ("-" when it
// does not), control bytes shown as '?'.
func (fc *fconn) logRefused(err error, start time.Time, sent int64) {
	p := fc.f.p
	p.counters.requests.Add(1)
	p.log.Debug("request head refused", "client", fc.client, "err", err)
	if !p.accessWanted() {
		return
	}
	raw, _ := fc.br.Peek(fc.br.Buffered())
	line, _, _ := bytes.Cut(raw[:min(len(raw), 2048)], []byte("\n"))
	method, target, _ := httpframe.RequestLine(strings.TrimSuffix(string(line), "\r"))
	method, target = printable(method), printable(target)
	u := target
	if h, _ := httpframe.Scan(raw, httpframe.Limits{MaxHeaderBytes: 1 << 30, MaxFields: 1 << 30}); strings.HasPrefix(target, "/") {
		u = "http://" + printable(h.Host) + target
	}
	p.emitAccess(AccessEntry{Time: start, Client: fc.client, Method: method, URL: u, Status: http.StatusBadRequest, Bytes: sent, Duration: p.now().Sub(start)})
}

// printable is s with bytes outside printable ASCII as '?', "-" when empty.
func printable(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}

var errAmbiguous = errors.New("ambiguous request framing")

// ambiguous reports framing that fasthttp's parser accepts but a proxy must
// refuse (RFC 9112 §6.1, §6.3, §5.2), should a request get past the guard
// (which refuses these first): Content-Length beside a chunked
// Transfer-Encoding (fasthttp lets chunked win), obs-fold (fasthttp
// unfolds it), and Transfer-Encoding in HTTP/1.0.
func (fc *fconn) ambiguous() bool {
	raw := fc.hdr.RawHeaders()
	if bytes.Contains(raw, []byte("\n ")) || bytes.Contains(raw, []byte("\n\t")) {
		return true
	}
	if fc.hdr.ContentLength() != -1 {
		return false
	}
	if !fc.hdr.IsHTTP11() {
		return true
	}
	for line := range bytes.Lines(raw) {
		if len(line) >= len("content-length") && asciiEq(line[:len("content-length")], "content-length") {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type prefixReader struct{ b []byte }

func (r *prefixReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// chanListener is the net/http server's listener: the front hands it the
// connections whose current request it bridges.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }
