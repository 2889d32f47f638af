package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

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
	admin, metrics   string
	accessLog        string
	grace            time.Duration
	maxHeader        int
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
        invalidation by POST/PUT/DELETE/PATCH. Concurrent misses for one URL
        make one upstream request. Every response carries Cache-Status
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
	fl := cmd.Flags()
	fl.StringVar(&f.http, "http", "127.0.0.1:8080", "HTTP proxy listen address")
	fl.StringVar(&f.upstream, "upstream", "http://127.0.0.1:8000", `where origin-form requests go (reverse proxy; "" for a forward proxy only)`)
	fl.DurationVar(&f.upstreamTimeout, "upstream-timeout", proxy.DefaultUpstreamTimeout, "longest wait on an upstream: to connect, for response headers (then 504), and between body bytes (then the response is cut)")
	fl.IntSliceVar(&f.connectPorts, "connect-ports", []int{443}, "ports CONNECT tunnels may reach")
	fl.StringArrayVar(&f.allow, "allow", nil, "client network allowed to use the proxy, CIDR (repeatable; default loopback and private ranges)")
	fl.StringArrayVar(&f.allowDest, "allow-dest", nil, "loopback/link-local destination network forward and CONNECT requests may reach when --http is not loopback, CIDR (repeatable)")
	fl.StringVar(&f.cacheStore, "cache-store", proxy.StoreMemory, `cache store: "memory", or redis://HOST:PORT/DB to share one cache between proxies`)
	fl.StringVar(&f.cacheSize, "cache-size", "256MiB", `memory cache bound, bodies and headers counted ("0" turns caching off)`)
	fl.StringVar(&f.maxObjectSize, "max-object-size", "8MiB", "largest response stored; larger ones stream through uncached")
	fl.StringVar(&f.admin, "admin", "", "serve GET /_socklab/stats (JSON) on this address (off by default)")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics")
	fl.StringVar(&f.accessLog, "access-log", "-", `access log file, one line per request with the cache verdict ("-": stderr, "off": none)`)
	fl.IntVar(&f.maxHeader, "max-header-bytes", httpframe.DefaultMaxHeaderBytes, "largest request header block; a larger one, or more than 100 header lines, gets 431")
	fl.DurationVar(&f.grace, "grace", proxy.DefaultGrace, "on SIGINT/SIGTERM, how long in-flight requests and tunnels get to finish")
	addSharedTierFlags(fl, &f.shared)
	addRelayFlags(fl, &f.relay)
	return cmd
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
	cfg.ConnectPorts = []int{}
	for _, p := range f.connectPorts {
		if p < 1 || p > 65535 {
			return cfg, 0, usageErrf("--connect-ports: %d is not a port", p)
		}
		cfg.ConnectPorts = append(cfg.ConnectPorts, p)
	}
	var err error
	if cfg.Allow, err = parsePrefixes("--allow", f.allow); err != nil {
		return cfg, 0, err
	}
	if cfg.AllowDest, err = parsePrefixes("--allow-dest", f.allowDest); err != nil {
		return cfg, 0, err
	}
	cfg.BlockLocalDest = !proxy.IsLoopbackListen(f.http)
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
	cfg, cacheSize, err := proxyConfig(f)
	if err != nil {
		return err
	}
	if cacheSize > 0 {
		memBound := cacheSize
		var store proxy.Store
		if isRedisStore(f.cacheStore) {
			store, memBound, err = openSharedTier(f.cacheStore, f.shared, log)
			if err != nil {
				return err
			}
			cfg.CoalesceShared = f.shared.coalesce
		} else if store, err = openCacheStore(f.cacheStore, cacheSize); err != nil {
			return usageErrf("--cache-store %w", err)
		}
		defer store.Close()
		cfg.Store = store
		// Keep the heap, and so RSS, near the cache bound: without a
		// limit the GC lets the heap reach twice the live cache. The
		// headroom is for garbage, connections and the runtime.
		if os.Getenv("GOMEMLIMIT") == "" {
			prev := debug.SetMemoryLimit(memBound + proxyMemHeadroom)
			defer debug.SetMemoryLimit(prev)
		}
	}
	accessLog, closeLog, err := openAccessLog(f.accessLog, e.stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg.AccessLog = accessLog
	cfg.Logger = log
	reg := newRegistry()
	var registerer prometheus.Registerer
	if f.metrics != "" {
		registerer = reg
		cfg.Registerer = reg
		if st, ok := cfg.Store.(interface{ Collector() prometheus.Collector }); ok {
			if err := reg.Register(st.Collector()); err != nil {
				return fmt.Errorf("register cache store metrics: %w", err)
			}
		}
	}

	// Bind the HTTP listener first, so an address in use fails at once.
	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	relay, err := f.relay.start(ctx, log, registerer)
	if err != nil {
		ln.Close()
		return err
	}
	cfg.WrapConn = relay.WrapConn
	p, err := proxy.New(cfg)
	if err != nil {
		ln.Close()
		cancel()
		_ = relay.Wait()
		return err
	}
	fail := func(err error) error {
		ln.Close()
		cancel()
		_ = relay.Wait()
		return err
	}
	if f.metrics != "" {
		if err := serveMetrics(ctx, f.metrics, reg, log); err != nil {
			return fail(err)
		}
	}
	if f.admin != "" {
		if err := serveAdmin(ctx, f.admin, p, cfg.Store, relay, log); err != nil {
			return fail(err)
		}
	}
	upstream := f.upstream
	if upstream == "" {
		upstream = "(none: forward proxy only)"
	}
	log.Info("http proxy listening", "addr", ln.Addr().String(), "upstream", upstream, "cache_size", units.FormatBytes(float64(cacheSize)), "cache_store", storeName(f.cacheStore, cfg.Store))
	serveErr := p.Serve(ctx, ln)
	cancel()
	relayErr := relay.Wait()
	st := p.Stats()
	log.Info("proxy stopped", "requests", st.Requests, "hits", st.Hits, "misses", st.Misses, "stored_objects", st.Objects, "stored_bytes", st.Bytes, "evictions", st.Evictions)
	return errors.Join(serveErr, relayErr)
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
// stderr, "off" none, anything else a file appended to.
func openAccessLog(spec string, stderr io.Writer) (func(proxy.AccessEntry), func(), error) {
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
		mu.Lock()
		defer mu.Unlock()
		_, _ = io.WriteString(w, line)
	}, closeFn, nil
}

// proxyStats is the /_socklab/stats document: the HTTP proxy's counters at
// the top level, the UDP relay's under "udp".
type proxyStats struct {
	proxy.Stats
	SharedTier *redisstore.Stats `json:"shared_tier,omitempty"` // --cache-store redis://
	UDP        any               `json:"udp"`
}

// serveAdmin serves GET /_socklab/stats on addr until ctx ends; the
// listener is bound before it returns.
func serveAdmin(ctx context.Context, addr string, p *proxy.Proxy, store proxy.Store, relay *relayHandle, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_socklab/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = writeJSON(w, proxyStats{Stats: p.Stats(), SharedTier: sharedTierStats(store), UDP: relay.Stats()})
	})
	return serveSide(ctx, "admin", addr, "/_socklab/stats", mux, log)
}
