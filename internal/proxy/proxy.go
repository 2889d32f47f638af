// Package proxy is socklab's HTTP proxy engine: forward (absolute-form)
// and reverse (origin-form, to Config.Upstream) proxying, CONNECT tunnels,
// and a shared cache that follows RFC 9111 through internal/httpcache,
// kept in a pluggable Store (a bounded memory store here, a Redis tier
// later). It marks every response with Cache-Status (RFC 9211), X-Cache and
// Age, coalesces concurrent misses, and reports each request through a hook.
package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/connlimit"
	"github.com/socklab/socklab/internal/httpcache"
	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/httpframe/guard"
)

// Defaults for zero Config fields.
const (
	DefaultUpstreamTimeout = 30 * time.Second
	DefaultMaxObjectSize   = 8 << 20
	DefaultGrace           = 5 * time.Second
	DefaultName            = "socklab"
	DefaultMaxConns        = 4096
	DefaultSendTimeout     = 60 * time.Second
)

// Config configures a Proxy. The zero value is a forward-only, non-caching
// proxy for loopback and private-range clients.
type Config struct {
	// Upstream receives origin-form requests (reverse proxy). Nil: such
	// requests get 400 and only absolute-form and CONNECT work.
	Upstream *url.URL
	// UpstreamTimeout bounds dialing, waiting for response headers (504
	// after it) and each wait for body bytes (the response is cut).
	// Zero: DefaultUpstreamTimeout.
	UpstreamTimeout time.Duration
	// ConnectPorts are the ports CONNECT may reach. Nil: 443 only.
	ConnectPorts []int
	// Allow lists the client networks that may use the proxy. Nil:
	// DefaultAllow. Others get 403.
	Allow []netip.Prefix
	// BlockLocalDest refuses absolute-form and CONNECT destinations in
	// loopback and link-local ranges (checked on the resolved address at
	// dial time), except those in AllowDest. Set it when the proxy listens
	// beyond loopback. Upstream is never subject to it.
	BlockLocalDest bool
	AllowDest      []netip.Prefix
	// Store keeps the cache. Nil: nothing is cached (every response is a
	// MISS with fwd=bypass).
	Store Store
	// CoalesceShared extends miss coalescing across the proxies sharing
	// Store, when it is a SharedLocker (the Redis tier): one of them goes
	// upstream, the others wait for its response. False: each proxy
	// coalesces its own requests only.
	CoalesceShared bool
	// MaxObjectSize is the largest body stored; larger responses stream
	// through uncached. Zero: DefaultMaxObjectSize.
	MaxObjectSize int64
	// MaxHeaderBytes bounds a request's line and header section, and
	// MaxHeaderFields the number of its field lines; beyond either the
	// request gets 431 and never reaches the origin. Zero:
	// httpframe.DefaultMaxHeaderBytes (64 KiB), DefaultMaxFields (100).
	MaxHeaderBytes  int
	MaxHeaderFields int
	// MaxResponseHeaderBytes bounds an origin's status line and header
	// section (net/http's Transport would hold up to 1 MiB); beyond it the
	// client gets 502 (ErrResponseHeaderTooLarge). Zero: MaxHeaderBytes'
	// value, 64 KiB by default.
	MaxResponseHeaderBytes int
	// MaxChunkedBody is the largest request body with Transfer-Encoding
	// the proxy takes: such bodies are buffered whole (16 KiB in memory,
	// the rest in an unlinked temporary file) and checked before anything
	// reaches the origin, then sent with a Content-Length; a larger one
	// gets 413. Bodies with a Content-Length stream as they come. Zero:
	// DefaultMaxChunkedBody.
	MaxChunkedBody int64
	// WrapConn, when set, wraps every accepted client connection (the UDP
	// relay's TCP impairment hooks in here).
	WrapConn func(net.Conn) net.Conn
	// MaxConns caps client connections, CONNECT tunnels included. At the
	// cap a new connection evicts the one idle the longest (or that has not
	// finished its request headers), else one stalled writing to its
	// client; only when all are busy is it refused. With the header limit
	// this bounds the memory clients can pin. Zero: DefaultMaxConns;
	// negative: no cap.
	MaxConns int
	// SendTimeout closes a client connection that takes no response bytes
	// for this long (nginx's send_timeout; renewed each 256 KiB). Zero:
	// DefaultSendTimeout.
	SendTimeout time.Duration
	// Grace is how long Serve waits for in-flight requests and tunnels
	// after ctx ends before closing them. Zero: DefaultGrace.
	Grace time.Duration
	// Name is the cache's name in Cache-Status and the Via pseudonym.
	// Empty: DefaultName.
	Name string
	// TargetedCacheControl names a targeted cache-control field for this
	// proxy (RFC 9213), e.g. "Socklab-Cache-Control": it takes precedence
	// over CDN-Cache-Control, which takes precedence over Cache-Control.
	// Targeted fields are not forwarded to clients. Empty: only
	// CDN-Cache-Control is obeyed besides Cache-Control.
	TargetedCacheControl string
	// Logger receives operational logs. Nil: discarded.
	Logger *slog.Logger
	// AccessLog receives one entry per request. Nil: each entry is logged
	// on Logger at Info.
	AccessLog func(AccessEntry)
	// Registerer receives the proxy's Prometheus metrics. Nil: none.
	Registerer prometheus.Registerer
	// ErrorHandler, if non-nil, answers every request the proxy refuses or
	// cannot forward, as httputil.ReverseProxy's does. err is an *Error
	// wrapping ErrClientRefused, ErrPortRefused, ErrDestinationRefused,
	// ErrUpstreamTimeout or the upstream's failure. A handler that only
	// adds to the message (a hint naming the setting) wraps err and calls
	// the proxy's WriteError. Nil: WriteError.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Transport overrides the upstream round tripper (tests). Nil: an
	// http.Transport with pooling, dialing through the destination ACL.
	Transport http.RoundTripper
}

// AccessEntry is one request as the access log sees it.
type AccessEntry struct {
	Time        time.Time
	Client      string
	Method      string
	URL         string
	Status      int
	Bytes       int64
	Duration    time.Duration
	Cache       string // HIT, MISS or TUNNEL
	CacheStatus string
}

// Proxy is the engine. It is an http.Handler; Serve runs it on a listener.
type Proxy struct {
	cfg            Config
	reqm           *reqMetrics // nil without a Registerer
	log            *slog.Logger
	allow          []netip.Prefix
	cache          *cache
	flights        flights
	transport      http.RoundTripper // client-chosen targets, through the destination ACL
	upTransport    http.RoundTripper // the configured upstream
	dialer         *net.Dialer
	upDialer       *net.Dialer
	connectPorts   map[int]bool
	timeout        time.Duration
	maxObject      int64
	maxRespHead    int // origin response header bound
	maxChunkedBody int64
	name           string
	via            string
	upstreamKey    string // Config.Upstream as reverse cache keys name it
	now            func() time.Time
	targets        httpcache.Targets // RFC 9213 target list
	counters       counters
	guard          *guard.Guard
	conns          *connlimit.Limiter

	upgradeOnce sync.Once
	upgrader    *http.Transport // see upgradeTransport
	upUpgrader  *http.Transport

	bg        sync.WaitGroup // background revalidations
	tunnelsWG sync.WaitGroup // open CONNECT tunnels
	mu        sync.Mutex
	tunnels   map[net.Conn]struct{}
}

var _ http.Handler = (*Proxy)(nil)

// New builds a proxy from cfg.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, allow: cfg.Allow, timeout: cfg.UpstreamTimeout, maxObject: cfg.MaxObjectSize, name: cfg.Name, now: cfg.Now, tunnels: map[net.Conn]struct{}{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.allow == nil {
		p.allow = DefaultAllow
	}
	if p.timeout <= 0 {
		p.timeout = DefaultUpstreamTimeout
	}
	if p.maxObject <= 0 {
		p.maxObject = DefaultMaxObjectSize
	}
	if p.name == "" {
		p.name = DefaultName
	}
	p.via = "1.1 " + p.name
	if cfg.Upstream != nil {
		p.upstreamKey = cfg.Upstream.String()
	}
	p.targets = httpcache.NewTargets(cfg.TargetedCacheControl)
	if p.now == nil {
		p.now = time.Now
	}
	ports := cfg.ConnectPorts
	if ports == nil {
		ports = []int{443}
	}
	p.connectPorts = map[int]bool{}
	for _, port := range ports {
		p.connectPorts[port] = true
	}
	if cfg.Store != nil {
		p.cache = &cache{store: cfg.Store}
	}
	p.conns = connlimit.New(connLimits(cfg))
	p.guard = guard.New(httpframe.Limits{MaxHeaderBytes: cfg.MaxHeaderBytes, MaxFields: cfg.MaxHeaderFields})
	p.maxChunkedBody = cfg.MaxChunkedBody
	if p.maxChunkedBody <= 0 {
		p.maxChunkedBody = DefaultMaxChunkedBody
	}
	p.maxRespHead = cfg.MaxResponseHeaderBytes
	if p.maxRespHead <= 0 {
		p.maxRespHead = p.guard.Limits().MaxHeaderBytes
	}
	// The destination ACL guards the targets clients choose (absolute-form,
	// CONNECT); the upstream the operator configured is always reachable.
	// Two transports, so that a pooled connection dialed to the upstream
	// is never reused for a forward request naming the same address.
	p.dialer = &net.Dialer{Timeout: p.timeout, KeepAlive: 30 * time.Second, Control: p.destControl}
	p.upDialer = &net.Dialer{Timeout: p.timeout, KeepAlive: 30 * time.Second}
	p.transport, p.upTransport = cfg.Transport, cfg.Transport
	if cfg.Transport == nil {
		p.transport = newSyncTransport(p.newTransport(p.dialer), p.dialUpstream(p.dialer), p.maxRespHead)
		p.upTransport = newSyncTransport(p.newTransport(p.upDialer), p.dialUpstream(p.upDialer), p.maxRespHead)
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(&collector{p: p}); err != nil {
			return nil, fmt.Errorf("register proxy metrics: %w", err)
		}
		reqm, err := newReqMetrics(cfg.Registerer)
		if err != nil {
			return nil, fmt.Errorf("register proxy metrics: %w", err)
		}
		p.reqm = reqm
	}
	return p, nil
}

func (p *Proxy) newTransport(d *net.Dialer) *http.Transport {
	return &http.Transport{
		DialContext:           p.dialUpstream(d),
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: p.timeout,
		TLSHandshakeTimeout:   p.timeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass Accept-Encoding through untouched
		// An origin's header section is held whole before anything is
		// relayed: bounded like a client's, not at net/http's 1 MiB.
		MaxResponseHeaderBytes: int64(p.maxRespHead),
	}
}

// transportFor is the round tripper for t: the configured upstream's, or
// the one that checks client-chosen destinations.
func (p *Proxy) transportFor(t *target) http.RoundTripper {
	if t.reverse {
		return p.upTransport
	}
	return p.transport
}

// dialUpstream dials for a transport; the connection gives up on a read
// that waits longer than the upstream timeout, so an upstream that stalls
// mid-body cannot hold a client (and the requests coalesced behind it)
// forever.
func (p *Proxy) dialUpstream(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &teConn{Conn: &readTimeoutConn{Conn: c, timeout: p.timeout}}, nil
	}
}

type readTimeoutConn struct {
	net.Conn
	timeout time.Duration
}

func (c *readTimeoutConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

// Serve accepts connections on ln until ctx ends, then drains in-flight
// requests for Grace before closing what remains (tunnels included).
// The front (front.go) owns the connections: fresh cache hits are served
// there, everything else by net/http through the same Handler.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if p.cfg.WrapConn != nil {
		ln = &wrapListener{Listener: ln, wrap: p.cfg.WrapConn}
	}
	// Every request head is checked before it is parsed: ambiguous
	// framing (request smuggling) is a 400, oversized heads a 431.
	ln = p.guard.Listener(ln)
	ln = p.conns.Listen(ln) // outermost: the front's states reach it
	f := newFront(p, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- f.serve(ln) }()
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve http %s: %w", ln.Addr(), err)
	case <-ctx.Done():
		_ = ln.Close()
		<-errc
	}
	grace := p.cfg.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	p.closeTunnelsAfter(shutdownCtx)
	f.shutdown(shutdownCtx)
	// Tunnels are hijacked connections, unknown to Shutdown: give them
	// the rest of the grace period, then closeTunnelsAfter cuts them.
	tunnelsDone := make(chan struct{})
	go func() { p.tunnelsWG.Wait(); close(tunnelsDone) }()
	select {
	case <-tunnelsDone:
	case <-shutdownCtx.Done():
		<-tunnelsDone
	}
	p.bg.Wait()
	for _, rt := range []http.RoundTripper{p.transport, p.upTransport} {
		if t, ok := rt.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
	}
	return serveErr
}

// OpenConns reports the client connections and tunnels open now: what a
// shutdown has to drain.
func (p *Proxy) OpenConns() int {
	return p.conns.Open() + int(p.counters.tunnelsActive.Load())
}

// closeTunnelsAfter closes every open tunnel when ctx ends (hijacked
// connections are invisible to http.Server.Shutdown).
func (p *Proxy) closeTunnelsAfter(ctx context.Context) {
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.tunnels {
			_ = c.Close()
		}
	}()
}

// connLimits is the client connection cap of cfg.
func connLimits(cfg Config) connlimit.Config {
	c := connlimit.Config{Max: cfg.MaxConns, SendTimeout: cfg.SendTimeout, WaitTimeout: headerTimeout}
	if c.Max == 0 {
		c.Max = DefaultMaxConns
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	return c
}

type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l *wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

// Unwrap and WrapConn let connlimit accept from the socket itself.
func (l *wrapListener) Unwrap() net.Listener         { return l.Listener }
func (l *wrapListener) WrapConn(c net.Conn) net.Conn { return l.wrap(c) }
