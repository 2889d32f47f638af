package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// syncTransport sends a GET or HEAD without a body over plain HTTP/1.1 on
// the caller's goroutine: it writes the request and reads the response
// itself, on a pooled keep-alive connection, where http.Transport hands
// each exchange to two goroutines of its own (a writer and a reader) and
// back. On a miss those handoffs are most of the proxy's added latency.
// The wire format is net/http's (Request.Write, ReadResponse), and so are
// the rules that matter here: the response header bound and its error
// text, interim 1xx responses passed to the request's httptrace, a
// context's end aborting the exchange, a connection reused only after its
// body was read to the end and not when either side said close, and one
// retry on a fresh connection when a pooled one turns out to be closed
// before anything came back (RFC 9112 §9.3.1: GET and HEAD are
// idempotent). Everything else goes to next.
type syncTransport struct {
	next    *http.Transport
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxHead int64
	idleFor time.Duration
	maxIdle int // per host
	maxAll  int // all hosts

	mu      sync.Mutex
	idle    map[string][]*upConn
	nIdle   int
	sweptAt time.Time
}

func newSyncTransport(next *http.Transport, dial func(ctx context.Context, network, addr string) (net.Conn, error), maxHead int) *syncTransport {
	return &syncTransport{next: next, dial: dial, maxHead: int64(maxHead), idleFor: next.IdleConnTimeout,
		maxIdle: next.MaxIdleConnsPerHost, maxAll: next.MaxIdleConns, idle: map[string][]*upConn{}, sweptAt: time.Now()}
}

// upConn is one upstream connection.
type upConn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	limit  int64 // bytes the response head may still take; <0: no limit
	read   int64 // bytes read since the request went out
	idleAt time.Time
}

func (uc *upConn) Read(p []byte) (int, error) {
	if uc.limit == 0 {
		return 0, errHeadLimit
	}
	if uc.limit > 0 && int64(len(p)) > uc.limit {
		p = p[:uc.limit]
	}
	n, err := uc.c.Read(p)
	uc.read += int64(n)
	if uc.limit > 0 {
		uc.limit -= int64(n)
	}
	return n, err
}

var errHeadLimit = errors.New("response head read limit exhausted")

func (t *syncTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Method != http.MethodGet && req.Method != http.MethodHead ||
		req.Body != nil && req.Body != http.NoBody || req.Close {
		return t.next.RoundTrip(req)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	fresh := false
	for {
		uc, reused, err := t.get(req.Context(), addr, fresh)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(uc, req, addr)
		if err == nil {
			return resp, nil
		}
		_ = uc.c.Close()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		if !reused || uc.read > 0 || errors.Is(err, errHeadLimit) {
			return nil, err
		}
		fresh = true // the pooled connection was closed under us: once more, new
	}
}

// get returns a pooled connection to addr, or a new one.
func (t *syncTransport) get(ctx context.Context, addr string, fresh bool) (*upConn, bool, error) {
	if !fresh {
		now := time.Now()
		t.mu.Lock()
		for conns := t.idle[addr]; len(conns) > 0; conns = t.idle[addr] {
			uc := conns[len(conns)-1]
			t.idle[addr] = conns[:len(conns)-1]
			t.nIdle--
			if now.Sub(uc.idleAt) < t.idleFor {
				t.mu.Unlock()
				return uc, true, nil
			}
			_ = uc.c.Close()
		}
		t.mu.Unlock()
	}
	c, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	uc := &upConn{c: c}
	uc.br = bufio.NewReaderSize(uc, 4096)
	uc.bw = bufio.NewWriterSize(c, 4096)
	return uc, false, nil
}

// put keeps uc for the next request to addr, within the per-host and
// overall bounds. Connections idle past idleFor are closed by a sweep at
// most every idleFor/2 (there is no reader per idle connection to notice
// the origin closing it: a request that finds it closed is retried).
func (t *syncTransport) put(addr string, uc *upConn) {
	uc.idleAt = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if uc.idleAt.Sub(t.sweptAt) > t.idleFor/2 {
		t.sweep(uc.idleAt)
	}
	if len(t.idle[addr]) >= t.maxIdle || t.nIdle >= t.maxAll {
		_ = uc.c.Close()
		return
	}
	t.idle[addr] = append(t.idle[addr], uc)
	t.nIdle++
}

// sweep closes the connections idle past idleFor (t.mu held).
func (t *syncTransport) sweep(now time.Time) {
	t.sweptAt = now
	for addr, conns := range t.idle {
		kept := conns[:0]
		for _, uc := range conns {
			if now.Sub(uc.idleAt) < t.idleFor {
				kept = append(kept, uc)
				continue
			}
			_ = uc.c.Close()
			t.nIdle--
		}
		if len(kept) == 0 {
			delete(t.idle, addr)
		} else {
			t.idle[addr] = kept
		}
	}
}

// CloseIdleConnections closes the pooled connections, and next's.
func (t *syncTransport) CloseIdleConnections() {
	t.mu.Lock()
	for addr, conns := range t.idle {
		for _, uc := range conns {
			_ = uc.c.Close()
		}
		delete(t.idle, addr)
	}
	t.nIdle = 0
	t.mu.Unlock()
	t.next.CloseIdleConnections()
}

// exchange writes req on uc and reads the final response's head, passing
// interim responses to the request's trace.
func (t *syncTransport) exchange(uc *upConn, req *http.Request, addr string) (*http.Response, error) {
	ctx := req.Context()
	// The context's end closes the connection: a read or write under way
	// fails at once, and the connection is not reused.
	stop := context.AfterFunc(ctx, func() { _ = uc.c.Close() })
	uc.read = 0
	if err := req.Write(uc.bw); err != nil {
		stop()
		return nil, err
	}
	if err := uc.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	trace := httptrace.ContextClientTrace(ctx)
	uc.limit = t.maxHead
	for {
		resp, err := http.ReadResponse(uc.br, req)
		if err != nil {
			stop()
			if errors.Is(err, errHeadLimit) {
				return nil, fmt.Errorf("net/http: server response headers exceeded %d bytes; aborted", t.maxHead)
			}
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode <= 199 && resp.StatusCode != http.StatusSwitchingProtocols {
			if trace != nil && trace.Got1xxResponse != nil {
				if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
					stop()
					return nil, err
				}
				uc.limit = t.maxHead // as http.Transport: a relayed 1xx resets the bound
			}
			continue
		}
		uc.limit = -1
		body := &upBody{rc: resp.Body, uc: uc, t: t, addr: addr, stop: stop, keep: !resp.Close}
		if resp.Body == http.NoBody {
			body.done(true)
			return resp, nil
		}
		resp.Body = body
		return resp, nil
	}
}

// upBody is a response body; read to its end, it gives the connection
// back to the pool.
type upBody struct {
	rc       io.ReadCloser
	uc       *upConn
	t        *syncTransport
	addr     string
	stop     func() bool
	keep     bool
	finished bool
}

func (b *upBody) Read(p []byte) (int, error) {
	if b.finished {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done(true)
	} else if err != nil {
		b.done(false)
	}
	return n, err
}

func (b *upBody) Close() error {
	if !b.finished {
		b.done(false)
	}
	return nil
}

// done ends the exchange: the connection goes back to the pool when the
// body was read whole, nobody said close and the context is still live.
func (b *upBody) done(whole bool) {
	b.finished = true
	live := b.stop()
	if whole && b.keep && live && b.uc.br.Buffered() == 0 {
		b.t.put(b.addr, b.uc)
		return
	}
	_ = b.uc.c.Close()
}
