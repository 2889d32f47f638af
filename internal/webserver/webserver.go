// Package webserver is socklab's static file server: it serves one folder
// (confined with os.Root) or an embedded default site over HTTP/1.1 (on
// valyala/fasthttp), and over TLS with HTTP/2 (on net/http). It owns path
// confinement, conditional and range requests (RFC 9110 §13, §14, as pure
// functions both engines share), gzip, directory
// listings, the readable error pages, the access log in Combined Log Format,
// Prometheus metrics, the connection cap and graceful shutdown. It also
// serves /_socklab/bytes, a generated body for TCP throughput tests.
package webserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/connlimit"
	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// Defaults used when the matching Config field is zero.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConns          = 4096
	DefaultSendTimeout       = 60 * time.Second
	DefaultGrace             = 10 * time.Second
	// MaxGeneratedBytes caps /_socklab/bytes?n=N.
	MaxGeneratedBytes = 10 << 30
)

// Config describes a web server. The zero value serves the embedded default
// site on plain HTTP with the defaults above, no access log and no metrics.
type Config struct {
	// Root is the folder to serve. Empty means FS, or the embedded site when
	// FS is nil too.
	Root string
	// FS is served when Root is empty (tests, the demo). Nil means the
	// embedded default site. New reads every file once to give it a content
	// ETag, so FS is meant for small, fixed trees.
	FS fs.FS

	// CacheControl, when not empty, is sent as Cache-Control on successful
	// and redirect responses that set none themselves, like nginx's
	// "expires": it lets a cache in front (socklab proxy) serve fresh hits
	// instead of revalidating. Empty sends none: caches then fall back to
	// Last-Modified heuristics (RFC 9111 §4.2.2) or revalidate with the ETag.
	CacheControl string

	// NoListing turns off the HTML listing of folders without index.html
	// (they answer 404 instead).
	NoListing bool
	// Dotfiles allows names starting with "." to be served and listed.
	Dotfiles bool

	// TLS, if non-nil, makes Serve speak TLS and offer HTTP/2 through ALPN.
	TLS *tls.Config

	// ReadHeaderTimeout bounds how long a client may take to send request
	// headers (slowloris); on plain HTTP/1.1 it bounds the whole request,
	// whose body (at most 1 MiB) fasthttp reads before answering. Zero
	// means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle that long. Zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps request headers. Zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxConns caps open connections. At the cap a new connection evicts the
	// connection that has been idle (or has not finished its first request
	// headers) the longest, else one stalled in a write; only when every
	// connection is busy is the new one refused (internal/connlimit, O(1)
	// per eviction). Zero means DefaultMaxConns; negative means no cap.
	MaxConns int
	// SendTimeout closes a connection whose response makes no write
	// progress for this long (nginx's send_timeout): the deadline is
	// renewed for each 256 KiB, so a slow reader is kept and one that stops
	// reading is not. A connection blocked in a write for a second or more
	// is evictable at MaxConns too. Zero means DefaultSendTimeout.
	SendTimeout time.Duration
	// Grace bounds graceful shutdown: in-flight requests get this long to
	// finish before their connections are closed. Zero means DefaultGrace.
	Grace time.Duration

	// AccessLog receives one Combined Log Format line per request. Nil
	// means no access log.
	AccessLog io.Writer
	// AccessLogJSON writes each access-log line as one JSON object (the
	// same fields, for log pipelines that read JSON) instead of Combined
	// Log Format.
	AccessLogJSON bool
	// Logger gets operational messages. Nil discards them.
	Logger *slog.Logger
	// Registerer, if non-nil, gets the server's Prometheus metrics.
	Registerer prometheus.Registerer
}

// DefaultSiteCacheControl is the lifetime socklab serve gives the embedded
// site, whose files have no modification time for a cache to reason from.
const DefaultSiteCacheControl = "public, max-age=300"

// Server is a configured web server; it is an http.Handler as well (the
// net/http engine), so it can be mounted in tests without a listener.
type Server struct {
	cfg     Config
	files   fs.FS
	closer  io.Closer // the os.Root, when serving a folder
	etags   map[string]string
	gz      *gzipCache
	small   *smallCache // nil unless serving a folder
	log     *slog.Logger
	access  *accessLog
	metrics *metrics
	conns   *connlimit.Limiter

	cacheControl string // Config.CacheControl
}

// New checks cfg, opens the root folder and registers metrics.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxHeaderBytes == 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger, gz: newGzipCache(32 << 20), cacheControl: cfg.CacheControl}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Root != "":
		st, err := os.Stat(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("web root: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("web root %s: not a directory", cfg.Root)
		}
		r, err := os.OpenRoot(cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("web root: %w", err)
		}
		s.files, s.closer = rootFS{r}, r
		s.small = newSmallCache(newWatcher(r))
	case cfg.FS != nil:
		s.files = cfg.FS
	default:
		s.files = DefaultSite()
	}
	if cfg.Root == "" {
		// Embedded files have no modification time, so their validators come
		// from their content, hashed once here.
		etags, err := hashETags(s.files)
		if err != nil {
			return nil, fmt.Errorf("web root: %w", err)
		}
		s.etags = etags
	}
	if cfg.AccessLog != nil {
		s.access = &accessLog{w: cfg.AccessLog, json: cfg.AccessLogJSON}
	}
	if cfg.Registerer != nil {
		m, err := newMetrics(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.conns = connlimit.New(s.connLimits())
	if s.metrics != nil {
		if err := s.metrics.registerWaiting(cfg.Registerer, s.conns); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close releases the root folder.
func (s *Server) Close() error {
	if s.small != nil {
		s.small.w.close()
	}
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// OpenConns reports how many HTTP connections are open now, busy or idle:
// what a shutdown has to drain.
func (s *Server) OpenConns() int { return s.conns.Open() }

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully:
// it stops accepting, lets in-flight requests finish for up to Grace, and
// closes what is left. It returns nil after a shutdown and an error only if
// the listener fails. Serve closes ln.
//
// Plain HTTP/1.1 is served by fasthttp behind the guard; with Config.TLS,
// net/http serves HTTP/2 and HTTP/1.1 over TLS.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	g := guard.New(httpframe.Limits{MaxHeaderBytes: s.cfg.MaxHeaderBytes})
	if s.cfg.TLS != nil {
		return s.serveTLS(ctx, ln, g)
	}
	// Request heads are checked before fasthttp reads them (request
	// smuggling, RFC 9112 §6.1); fasthttp's own parser is the second line
	// (TestFastParserFraming).
	ln = s.conns.Listen(g.Listener(sockListener{ln})) // outermost: ConnState sees the limiter's conns
	srv := s.newFastServer(g)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	defer cancel()
	if err := srv.ShutdownWithContext(grace); err != nil {
		s.log.Warn("grace period over, closing connections still busy", "grace", s.cfg.Grace, "err", err)
		s.conns.CloseAll()
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("serve http %s: %w", ln.Addr(), err)
	}
	return nil
}

// serveTLS is Serve over TLS, on net/http (fasthttp speaks neither HTTP/2
// nor ALPN): HTTP/2 through ALPN, and HTTP/1.1. The guard reads the
// plaintext, after the handshake, of HTTP/1.1 connections; HTTP/2 frames
// its own messages. The connection cap counts from accept, before TLS;
// its ConnState hook finds its connections through the wrappers.
func (s *Server) serveTLS(ctx context.Context, ln net.Listener, g *guard.Guard) error {
	tlsConfig := guard.TLSConfig(s.cfg.TLS)
	ln = g.TLSListener(s.conns.Listen(ln), tlsConfig, s.cfg.ReadHeaderTimeout, s.log)
	srv := &http.Server{
		Handler:           g.Handler(s),
		ConnContext:       g.ConnContext,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ConnState:         s.conns.ConnState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		TLSConfig:         tlsConfig, // offering h2: Serve sets HTTP/2 up
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve https %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		s.log.Warn("grace period over, closing connections still busy", "grace", s.cfg.Grace, "err", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve https %s: %w", ln.Addr(), err)
	}
	return nil
}

// connLimits is the connection cap's configuration: MaxConns (negative:
// none), SendTimeout, and the metrics it feeds.
func (s *Server) connLimits() connlimit.Config {
	c := connlimit.Config{Max: s.cfg.MaxConns, SendTimeout: s.cfg.SendTimeout, WaitTimeout: s.cfg.ReadHeaderTimeout}
	if m := s.metrics; m != nil {
		c.OnOpen = m.conns.Inc
		c.OnClose = m.conns.Dec
		c.OnEvict = func(bool) { m.connsEvicted.Inc() }
		c.OnRefuse = m.connsRefused.Inc
	}
	return c
}
