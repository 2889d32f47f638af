package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/proxy/redisstore"
	"github.com/socklab/socklab/internal/units"
)

// proxyMemHeadroom is what the Go memory limit allows above --cache-size.
const proxyMemHeadroom = 16 << 20

type proxyFlags struct {
	http, upstream   string
	upstreamTimeout  time.Duration
	connectPorts     []int
	allow, allowDest []string
	cacheStore       string
	cacheSize        string
	maxObjectSize    string
	targetedCC       string
	admin, metrics   string
	accessLog        string
	grace            time.Duration
	maxHeader        int
	maxConns         int
	sendTimeout      time.Duration
	relay            relayFlags
	shared           sharedTierFlags
}

func newProxyCmd(e *env) *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "HTTP caching proxy (forward, reverse, CONNECT) and impairing UDP relay",
		Long: `proxy runs two services in one process:

  HTTP  (--http, default 127.0.0.1:8080): a caching proxy.
        Origin-form requests ("GET /page") go to --upstream (reverse proxy);
        absolute-form requests ("GET http://host/page", the proxy set as
        HTTP_PROXY) go to their own target (forward proxy); CONNECT opens a
        byte tunnel to an allowed port (--connect-ports, default 443).
        The cache is a shared cache that follows RFC 9111: Cache-Control
        (max-age, s-maxage, no-cache, no-store, private, must-revalidate,
        stale-while-revalidate, stale-if-error, immutable, ...), Expires,
        heuristic freshness, Vary, revalidation with ETag/Last-Modified, and
        invalidation by POST/PUT/DELETE/PATCH; CDN-Cache-Control (RFC 9213,
        and --targeted-cache-control before it); byte ranges served from
        stored responses. 1xx responses and WebSocket upgrades are relayed.
        Concurrent misses for one URL make one upstream request. Every response carries Cache-Status
        (RFC 9211), X-Cache: HIT|MISS and Age; one access-log line per
        request ends with the verdict. "PURGE URL" drops a URL from the cache.
        Clients outside --allow (default: loopback and private ranges) get
        403; an unreachable upstream gives 502, a slow one 504.

` + sharedTierLongHelp + relayLongHelp,
		Example: `  socklab proxy
  curl -si http://127.0.0.1:8080/ | grep -i -e x-cache -e cache-status
  curl -x http://127.0.0.1:8080 http://127.0.0.1:8000/
  curl -X PURGE http://127.0.0.1:8080/index.html
  socklab proxy --admin 127.0.0.1:8081 && curl 127.0.0.1:8081/_socklab/stats
  socklab proxy --delay 50ms --loss 1%`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProxy(cmd.Context(), e, f)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// register defines the flags of "socklab proxy" on fl, with their defaults.
func (f *proxyFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.http, "http", "127.0.0.1:8080", "HTTP proxy listen address")
	fl.StringVar(&f.upstream, "upstream", "http://127.0.0.1:8000", `where origin-form requests go (reverse proxy; "off" or "" for a forward proxy only)`)
	fl.DurationVar(&f.upstreamTimeout, "upstream-timeout", proxy.DefaultUpstreamTimeout, "longest wait on an upstream: to connect, for response headers (then 504), and between body bytes (then the response is cut)")
	fl.IntSliceVar(&f.connectPorts, "connect-ports", []int{443}, "ports CONNECT tunnels may reach")
	fl.StringArrayVar(&f.allow, "allow", nil, "client network allowed to use the proxy, CIDR (repeatable; default loopback and private ranges)")
	fl.StringArrayVar(&f.allowDest, "allow-dest", nil, "loopback/link-local destination network forward and CONNECT requests may reach when --http is not loopback, CIDR (repeatable)")
	fl.StringVar(&f.cacheStore, "cache-store", proxy.StoreMemory, `cache store: "memory", or redis://HOST:PORT/DB, redis-cluster://H:P,H:P,... or redis-sentinel://MASTER@H:P,.../DB to share one cache between proxies`)
	fl.StringVar(&f.cacheSize, "cache-size", "256MiB", `memory cache bound, bodies and headers counted ("0" turns caching off)`)
	fl.StringVar(&f.maxObjectSize, "max-object-size", "8MiB", "largest response stored; larger ones stream through uncached")
	fl.StringVar(&f.targetedCC, "targeted-cache-control", "", "a response field only this proxy obeys (RFC 9213), e.g. Socklab-Cache-Control; it beats CDN-Cache-Control, which beats Cache-Control")
	fl.StringVar(&f.admin, "admin", "", "serve GET /_socklab/stats (JSON) on this address (off by default)")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (and /healthz)")
	fl.StringVar(&f.accessLog, "access-log", "-", `access log file, one line per request with the cache verdict ("-": stderr, "off": none)`)
	fl.IntVar(&f.maxHeader, "max-header-bytes", httpframe.DefaultMaxHeaderBytes, "largest request header block; a larger one, or more than 100 header lines, gets 431")
	fl.IntVar(&f.maxConns, "max-conns", proxy.DefaultMaxConns, "most client connections (tunnels included); at the cap the longest-idle one (else one stalled writing) is closed (-1: no cap)")
	fl.DurationVar(&f.sendTimeout, "send-timeout", proxy.DefaultSendTimeout, "close a client connection that takes no response bytes for this long (like nginx's send_timeout)")
	fl.DurationVar(&f.grace, "grace", proxy.DefaultGrace, "on SIGINT/SIGTERM, how long in-flight requests and tunnels get to finish")
	addSharedTierFlags(fl, &f.shared)
	addRelayFlags(fl, &f.relay)
}

// defaultProxyFlags is the flags at their defaults, as the demo starts from.
func defaultProxyFlags() proxyFlags {
	var f proxyFlags
	f.register(pflag.NewFlagSet("proxy", pflag.ContinueOnError))
	return f
}

// proxyConfig validates the HTTP flags into an engine Config (without the
// store, hooks and logger).
func proxyConfig(f proxyFlags) (proxy.Config, int64, error) {
	var cfg proxy.Config
	if f.upstream != "" {
		u, err := url.Parse(f.upstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, 0, usageErrf("--upstream %q: want http://host:port or https://host:port", f.upstream)
		}
		cfg.Upstream = u
	}
	if f.upstreamTimeout <= 0 {
		return cfg, 0, usageErrf("--upstream-timeout must be positive, not %s", f.upstreamTimeout)
	}
	if f.grace <= 0 {
		return cfg, 0, usageErrf("--grace must be positive, not %s", f.grace)
	}
	if f.maxHeader <= 0 {
		return cfg, 0, usageErrf("--max-header-bytes must be positive, not %d", f.maxHeader)
	}
	cfg.UpstreamTimeout, cfg.Grace, cfg.MaxHeaderBytes = f.upstreamTimeout, f.grace, f.maxHeader
	if f.maxConns == 0 || f.maxConns < -1 {
		return cfg, 0, usageErrf("--max-conns must be positive or -1, not %d", f.maxConns)
	}
	if f.sendTimeout <= 0 {
		return cfg, 0, usageErrf("--send-timeout must be positive, not %s", f.sendTimeout)
	}
	cfg.MaxConns, cfg.SendTimeout = f.maxConns, f.sendTimeout
	cfg.ConnectPorts = []int{}
	cfg.ConnectPorts = append(cfg.ConnectPorts, f.connectPorts...)
	if err := cfg.Validate(); err != nil {
		return cfg, 0, err
	}
	var err error
	if cfg.Allow, err = parsePrefixes("--allow", f.allow); err != nil {
		return cfg, 0, err
	}
	if cfg.AllowDest, err = parsePrefixes("--allow-dest", f.allowDest); err != nil {
		return cfg, 0, err
	}
	cfg.BlockLocalDest = !proxy.IsLoopbackListen(f.http)
	if f.targetedCC != "" && !validFieldName(f.targetedCC) {
		return cfg, 0, usageErrf("--targeted-cache-control %q: want a header field name like Socklab-Cache-Control", f.targetedCC)
	}
	cfg.TargetedCacheControl = f.targetedCC
	cacheSize, err := units.ParseSize(f.cacheSize)
	if err != nil || cacheSize < 0 {
		return cfg, 0, usageErrf("--cache-size %q: want a size like 256MiB", f.cacheSize)
	}
	if cfg.MaxObjectSize, err = units.ParseSize(f.maxObjectSize); err != nil || cfg.MaxObjectSize <= 0 {
		return cfg, 0, usageErrf("--max-object-size %q: want a positive size like 8MiB", f.maxObjectSize)
	}
	if cacheSize > 0 && cfg.MaxObjectSize > cacheSize {
		cfg.MaxObjectSize = cacheSize
	}
	return cfg, cacheSize, nil
}

func parsePrefixes(flag string, values []string) ([]netip.Prefix, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make([]netip.Prefix, 0, len(values))
	for _, v := range values {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, usageErrf("%s %q: want a CIDR like 10.0.0.0/8", flag, v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func runProxy(ctx context.Context, e *env, f proxyFlags) error {
	log := e.logger(e.stderr)
	g := newGroup(ctx)
	st, err := buildProxy(g.ctx, e, f, log, proxyHooks{})
	if err != nil {
		g.cancel()
		return err
	}
	// Keep the heap, and so RSS, near the cache bound: without a limit the
	// GC lets the heap reach twice the live cache. The headroom is for
	// garbage, connections and the runtime.
	if st.memBound > 0 && os.Getenv("GOMEMLIMIT") == "" {
		prev := debug.SetMemoryLimit(st.memBound + proxyMemHeadroom)
		defer debug.SetMemoryLimit(prev)
	}
	st.start(g)
	stopNotice := drainNotice(ctx, log, f.grace, st.proxy.OpenConns)
	err = g.Wait()
	stopNotice()
	ps := st.proxy.Stats()
	log.Info("proxy stopped", "requests", ps.Requests, "hits", ps.Hits, "misses", ps.Misses, "stored_objects", ps.Objects, "stored_bytes", ps.Bytes, "evictions", ps.Evictions)
	return err
}

// proxyHooks let the demo adjust what the flags cannot say.
type proxyHooks struct {
	// AccessLog, if set, replaces --access-log.
	AccessLog func(proxy.AccessEntry)
	// NoStreamImpair keeps the impairment on the UDP relay only.
	NoStreamImpair bool
}

// proxyStack is "socklab proxy" built from its flags: the caching proxy
// and the UDP relay with their sockets bound, and the side listeners. The
// proxy command and the demo both build it, so a new flag reaches both.
type proxyStack struct {
	proxy    *proxy.Proxy
	relay    *relayHandle
	ln       net.Listener
	side     []func(context.Context) error
	close    []func()
	memBound int64  // what the cache may hold in memory, 0 without a cache
	URL      string // http://host:port of the proxy
}

// proxyStore opens the cache store the flags name; nil when --cache-size 0.
func proxyStore(f proxyFlags, cacheSize int64, log *slog.Logger) (store proxy.Store, memBound int64, err error) {
	if cacheSize <= 0 {
		return nil, 0, nil
	}
	if isRedisStore(f.cacheStore) {
		return openSharedTier(f.cacheStore, f.shared, log)
	}
	if store, err = openCacheStore(f.cacheStore, cacheSize); err != nil {
		return nil, 0, usageErrf("--cache-store %w", err)
	}
	return store, cacheSize, nil
}

// buildProxy validates f, builds the proxy and the relay and binds their
// sockets (so an address in use fails at once). The relay serves from
// here on, under ctx; the proxy waits for start.
func buildProxy(ctx context.Context, e *env, f proxyFlags, log *slog.Logger, hooks proxyHooks) (_ *proxyStack, err error) {
	offToEmpty(&f.upstream, &f.metrics, &f.admin, &f.relay.udp)
	if err := checkListenAddr("--http", f.http); err != nil {
		return nil, err
	}
	cfg, cacheSize, err := proxyConfig(f)
	if err != nil {
		return nil, err
	}
	s := &proxyStack{}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	if cfg.Store, s.memBound, err = proxyStore(f, cacheSize, log); err != nil {
		return nil, err
	}
	if cfg.Store != nil {
		cfg.CoalesceShared = isRedisStore(f.cacheStore) && f.shared.coalesce
		s.close = append(s.close, func() { cfg.Store.Close() })
	}
	accessLog, closeLog, err := openAccessLog(f.accessLog, e.stderr, e.log.format == "json")
	if err != nil {
		return nil, err
	}
	s.close = append(s.close, closeLog)
	cfg.AccessLog, cfg.Logger = accessLog, log
	if hooks.AccessLog != nil {
		cfg.AccessLog = hooks.AccessLog
	}
	reg, registerer, err := proxyRegistry(f, cfg.Store)
	if err != nil {
		return nil, err
	}
	cfg.Registerer = registerer
	if err := s.bind(ctx, f, cfg, registerer, log, hooks); err != nil {
		return nil, err
	}
	return s, s.sides(ctx, f, reg, cfg.Store, log)
}

// proxyRegistry is the metrics registry, with the store's collector, when
// --metrics asks for one.
func proxyRegistry(f proxyFlags, store proxy.Store) (*prometheus.Registry, prometheus.Registerer, error) {
	reg := newRegistry()
	if f.metrics == "" {
		return reg, nil, nil
	}
	if st, ok := store.(interface{ Collector() prometheus.Collector }); ok {
		if err := reg.Register(st.Collector()); err != nil {
			return nil, nil, fmt.Errorf("register cache store metrics: %w", err)
		}
	}
	return reg, reg, nil
}

// bind opens the HTTP listener first, so an address in use fails at once,
// then starts the relay on its own socket and builds the proxy.
func (s *proxyStack) bind(ctx context.Context, f proxyFlags, cfg proxy.Config, reg prometheus.Registerer, log *slog.Logger, hooks proxyHooks) error {
	ln, err := listenTCP(ctx, "proxy http", f.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	s.ln = ln
	s.close = append(s.close, func() { ln.Close() })
	rctx, cancel := context.WithCancel(ctx)
	relay, err := f.relay.start(rctx, log, reg)
	if err != nil {
		cancel()
		return err
	}
	s.relay = relay
	s.close = append(s.close, func() { cancel(); _ = relay.Wait() })
	if !hooks.NoStreamImpair {
		cfg.WrapConn = relay.WrapConn
	}
	cfg.ErrorHandler = proxyErrorHandler(&s.proxy)
	if s.proxy, err = proxy.New(cfg); err != nil {
		return err
	}
	s.URL = "http://" + ln.Addr().String()
	upstream := f.upstream
	if upstream == "" {
		upstream = "(none: forward proxy only)"
	}
	log.Info("http proxy listening", "addr", ln.Addr().String(), "upstream", upstream, "cache_size", units.FormatBytes(float64(s.memBound)), "cache_store", storeName(f.cacheStore, cfg.Store))
	return nil
}

// sides binds the metrics and admin listeners the flags ask for.
func (s *proxyStack) sides(ctx context.Context, f proxyFlags, reg *prometheus.Registry, store proxy.Store, log *slog.Logger) error {
	if f.metrics != "" {
		run, err := metricsServer(ctx, f.metrics, reg, log)
		if err != nil {
			return err
		}
		s.side = append(s.side, run)
	}
	if f.admin != "" {
		run, err := adminServer(ctx, f.admin, s.proxy, store, s.relay, log)
		if err != nil {
			return err
		}
		s.side = append(s.side, run)
	}
	return nil
}

// start runs the proxy and the side listeners under g, and has g watch
// the relay; g's cleanups release the rest.
func (s *proxyStack) start(g *group) {
	g.Defer(s.release)
	g.Go(func(ctx context.Context) error { return s.proxy.Serve(ctx, s.ln) })
	g.Go(func(ctx context.Context) error {
		// The relay runs under the context buildProxy was given (the
		// group's): it stops with the group.
		return s.relay.Wait()
	})
	for _, run := range s.side {
		g.Go(run)
	}
}

func (s *proxyStack) release() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
	s.close = nil
}

// openCacheStore builds the cache store named by --cache-store, bounded by
// maxBytes. This is where further tiers plug in: the shared Redis tier
// (issue 9, internal/proxy/redisstore) takes "redis://HOST:PORT/DB" here,
// with a memory store in front as its L1.
func openCacheStore(spec string, maxBytes int64) (proxy.Store, error) {
	switch {
	case spec == "" || spec == proxy.StoreMemory:
		return proxy.NewMemoryStore(maxBytes)
	}
	return nil, fmt.Errorf("%q: unknown store (want %q or redis://HOST:PORT/DB)", spec, proxy.StoreMemory)
}

// openAccessLog returns the access-log hook for --access-log: "-" is
// stderr, "off" none, anything else a file appended to. With asJSON each
// line is a JSON object, so a --log-format json stream is JSON throughout.
func openAccessLog(spec string, stderr io.Writer, asJSON bool) (func(proxy.AccessEntry), func(), error) {
	var w io.Writer
	closeFn := func() {}
	switch spec {
	case "off":
		return func(proxy.AccessEntry) {}, closeFn, nil
	case "-", "":
		w = stderr
	default:
		fh, err := os.OpenFile(spec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("access log: %w", err)
		}
		w, closeFn = fh, func() { fh.Close() }
	}
	var mu sync.Mutex
	return func(a proxy.AccessEntry) {
		line := proxy.FormatAccess(a) + "\n"
		if asJSON {
			line = accessJSON(a)
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = io.WriteString(w, line)
	}, closeFn, nil
}

// accessJSON renders a proxy access entry as one JSON line, led by time,
// level and msg as slog's JSON lines are.
func accessJSON(a proxy.AccessEntry) string {
	cache := a.Cache
	if cache == "" {
		cache = "-"
	}
	b, _ := json.Marshal(struct {
		Time        string  `json:"time"`
		Level       string  `json:"level"`
		Msg         string  `json:"msg"`
		Client      string  `json:"client"`
		Method      string  `json:"method"`
		URL         string  `json:"url"`
		Status      int     `json:"status"`
		Bytes       int64   `json:"bytes"`
		DurationMs  float64 `json:"duration_ms"`
		Cache       string  `json:"cache"`
		CacheStatus string  `json:"cache_status,omitempty"`
	}{a.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), "INFO", "access", a.Client, a.Method, a.URL, a.Status, a.Bytes,
		float64(a.Duration) / float64(time.Millisecond), cache, a.CacheStatus})
	return string(b) + "\n"
}

// proxyStats is the /_socklab/stats document: the HTTP proxy's counters at
// the top level, the UDP relay's under "udp".
type proxyStats struct {
	proxy.Stats
	SharedTier *redisstore.Stats `json:"shared_tier,omitempty"` // --cache-store redis://
	UDP        any               `json:"udp"`
}

// adminServer binds addr for GET /_socklab/stats; run serves it until its
// context ends.
func adminServer(ctx context.Context, addr string, p *proxy.Proxy, store proxy.Store, relay *relayHandle, log *slog.Logger) (run func(context.Context) error, err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_socklab/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = writeJSON(w, proxyStats{Stats: p.Stats(), SharedTier: sharedTierStats(store), UDP: relay.Stats()})
	})
	return sideServer(ctx, "admin", addr, "/_socklab/stats", mux, log)
}

// validFieldName reports whether s is a field name (an RFC 9110 token).
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}
