package guard

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// TLSListener terminates TLS on ln's connections and guards the ones that
// speak HTTP/1.x inside it (ALPN "http/1.1", or none): the guard has to
// read plaintext, so it sits after the handshake. Connections that
// negotiated "h2" are returned as the *tls.Conn, for net/http's HTTP/2
// server, which frames its own messages (RFC 9113 §8.2.2 forbids the
// fields smuggling plays with). Serve it with http.Server.Serve (not
// ServeTLS) and the same config as the server's TLSConfig, and mount the
// handler with g.Handler and g.ConnContext.
//
// Handshakes run in their own goroutines, each bounded by timeout, so a
// client that stalls in one holds up no other. The config is cloned and
// offers h2 and http/1.1 unless it names its own protocols.
func (g *Guard) TLSListener(ln net.Listener, cfg *tls.Config, timeout time.Duration, log *slog.Logger) net.Listener {
	cfg = TLSConfig(cfg)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &tlsListener{Listener: ln, g: g, cfg: cfg, timeout: timeout, log: log,
		ready: make(chan net.Conn), done: make(chan struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.run()
	return l
}

// TLSConfig is cfg as TLSListener uses it: a clone offering h2 and
// http/1.1 when it names no protocols. Give the http.Server the same.
func TLSConfig(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	return cfg
}

type tlsListener struct {
	net.Listener
	g       *Guard
	cfg     *tls.Config
	timeout time.Duration
	log     *slog.Logger

	ready  chan net.Conn // handshaken connections, for Accept
	done   chan struct{} // closed by Close
	ctx    context.Context
	cancel context.CancelFunc // cuts handshakes in progress
	once   sync.Once
	errMu  sync.Mutex
	err    error // why the accept loop ended, if not Close
}

// run accepts connections and hands each to a handshake goroutine.
func (l *tlsListener) run() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.errMu.Lock()
			select {
			case <-l.done:
			default:
				l.err = err
			}
			l.errMu.Unlock()
			l.Close()
			return
		}
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		l.log.Debug("tls handshake failed", "client", c.RemoteAddr(), "err", err)
		c.Close()
		return
	}
	var out net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		out = l.g.Conn(tc)
	}
	select {
	case l.ready <- out:
	case <-l.done:
		c.Close()
	}
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes in progress are cut.
func (l *tlsListener) Close() error {
	var err error
	l.once.Do(func() {
		l.errMu.Lock()
		close(l.done)
		l.errMu.Unlock()
		l.cancel()
		err = l.Listener.Close()
	})
	return err
}

type tlsStateKey struct{}

// ConnContext is an http.Server ConnContext hook that keeps the TLS state
// of a guarded connection, which net/http cannot see through the guard:
// Handler puts it back in r.TLS.
func (g *Guard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*conn); ok {
		if tc, ok := gc.Conn.(*tls.Conn); ok {
			st := tc.ConnectionState()
			return context.WithValue(ctx, tlsStateKey{}, &st)
		}
	}
	return ctx
}

// restoreTLS sets r.TLS from ConnContext's note.
func restoreTLS(r *http.Request) {
	if r.TLS == nil {
		if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
			r.TLS = st
		}
	}
}
