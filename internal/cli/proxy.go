package cli

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/socklab/socklab/internal/httpframe"
	"github.com/socklab/socklab/internal/procs"
	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/stack"
	"github.com/socklab/socklab/internal/units"
)

type proxyFlags struct {
	http, upstream   string
	upstreamTimeout  time.Duration
	connectPorts     []int
	allow, allowDest []string
	cacheStore       string
	cacheSize        string
	maxObjectSize    string
	maxChunkedBody   string
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
	fl.IntVar(&f.maxHeader, "max-header-bytes", httpframe.DefaultMaxHeaderBytes, "largest request header block (a larger one, or more than 100 header lines, gets 431) and origin response header block (a larger one gets 502)")
	fl.StringVar(&f.maxChunkedBody, "max-chunked-body", "64MiB", "largest chunked request body; such bodies are buffered (16 KiB in memory, the rest in a temporary file) and checked whole before the origin sees them; a larger one gets 413")
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
	if cfg.Allow, err = flagx.Prefixes("--allow", f.allow); err != nil {
		return cfg, 0, err
	}
	if cfg.AllowDest, err = flagx.Prefixes("--allow-dest", f.allowDest); err != nil {
		return cfg, 0, err
	}
	cfg.BlockLocalDest = !proxy.IsLoopbackListen(f.http)
	if f.targetedCC != "" && !flagx.FieldName(f.targetedCC) {
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
	if cfg.MaxChunkedBody, err = units.ParseSize(f.maxChunkedBody); err != nil || cfg.MaxChunkedBody <= 0 {
		return cfg, 0, usageErrf("--max-chunked-body %q: want a positive size like 64MiB", f.maxChunkedBody)
	}
	if cacheSize > 0 && cfg.MaxObjectSize > cacheSize {
		cfg.MaxObjectSize = cacheSize
	}
	return cfg, cacheSize, nil
}

func runProxy(ctx context.Context, e *env, f proxyFlags) error {
	cfg, err := f.config(e, e.logger(e.stderr))
	if err != nil {
		return err
	}
	err = stack.RunProxy(ctx, cfg, func(st *stack.Proxy) func() { return procs.LimitMemory(st.MemBound) })
	return withStackFlag(err)
}

// config validates the flags into the proxy stack's Config.
func (f proxyFlags) config(e *env, log *slog.Logger) (stack.ProxyConfig, error) {
	flagx.OffToEmpty(&f.upstream, &f.metrics, &f.admin, &f.relay.udp)
	if err := flagx.CheckListenAddr("--http", f.http); err != nil {
		return stack.ProxyConfig{}, err
	}
	pc, cacheSize, err := proxyConfig(f)
	if err != nil {
		return stack.ProxyConfig{}, err
	}
	accessLog := f.accessLog
	if accessLog == "" {
		accessLog = "-" // the proxy's log goes to stderr unless "off"
	}
	cfg := stack.ProxyConfig{
		HTTP: f.http, Admin: f.admin, Metrics: f.metrics, Proxy: pc,
		Store:     stack.StoreConfig{Spec: f.cacheStore, Size: cacheSize, Coalesce: f.shared.coalesce},
		AccessLog: accessLog, AccessLogJSON: e.log.format == "json", Stderr: e.stderr,
		ErrorHint: withFlagHint, Logger: log,
	}
	if cacheSize > 0 && cfg.Store.IsShared() {
		if cfg.Store.Shared, err = f.shared.options(); err != nil {
			return cfg, err
		}
	}
	cfg.Relay, err = f.relay.config()
	return cfg, err
}

// stackFlags name the flag behind each Config field the stack may refuse.
var stackFlags = map[string]string{
	"Store.Spec": "--cache-store ", "Store.Size": "--cache-size ", "Relay.UDP": "--udp ", "Relay.Upstream": "--udp-upstream: ",
	"TargetsFile": "--targets ",
}

// withStackFlag turns a value the stack refused into a usage error that
// names its flag.
func withStackFlag(err error) error {
	var fe *stack.FieldError
	if errors.As(err, &fe) {
		if flag, ok := stackFlags[fe.Field]; ok {
			return usageErrf("%s%w", flag, fe.Err)
		}
	}
	return err
}
