package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/proxy/redisstore"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/units"
)

// ProxyConfig is "socklab proxy": the caching proxy, its store, the UDP
// relay, where they listen, and their side listeners.
type ProxyConfig struct {
	HTTP    string // the proxy's listen address, host:port
	Admin   string // GET /_socklab/stats listener; "" none
	Metrics string // Prometheus listener; "" none

	// Proxy is the engine's config; the stack sets its Store, AccessLog,
	// Logger, Registerer, WrapConn and ErrorHandler.
	Proxy proxy.Config
	Store StoreConfig
	Relay RelayConfig

	// AccessLog is where the access log goes, as ServeConfig's; with
	// AccessLogJSON each line is a JSON object. OnAccess, if set, gets
	// every entry instead.
	AccessLog     string
	AccessLogJSON bool
	OnAccess      func(proxy.AccessEntry)
	Stderr        io.Writer

	// NoStreamImpair keeps the impairment on the UDP relay only.
	NoStreamImpair bool
	// ErrorHint, if set, rewrites the errors the proxy answers itself
	// before they are written (cli adds the flag that governs each).
	ErrorHint func(error) error

	Logger *slog.Logger // nil: slog.Default()
}

// Proxy is "socklab proxy" built: the caching proxy and the UDP relay
// with their sockets bound, and the side listeners.
type Proxy struct {
	Proxy    *proxy.Proxy
	Relay    *Relay
	URL      string // http://host:port of the proxy
	MemBound int64  // what the cache may hold in memory, 0 without a cache
	ln       net.Listener
	side     []func(context.Context) error
	close    []func()
}

// BuildProxy builds the proxy and the relay and binds their sockets (so
// an address in use fails at once). The relay serves from here on, under
// ctx; the proxy waits for Start.
func BuildProxy(ctx context.Context, c ProxyConfig) (_ *Proxy, err error) {
	log := logger(c.Logger)
	s := &Proxy{}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	cfg := c.Proxy
	if cfg.Store, s.MemBound, err = openStore(c.Store, log); err != nil {
		return nil, err
	}
	if cfg.Store != nil {
		cfg.CoalesceShared = c.Store.IsShared() && c.Store.Coalesce
		s.close = append(s.close, func() { cfg.Store.Close() })
	}
	accessLog, closeLog, err := proxyAccessLog(c.AccessLog, c.Stderr, c.AccessLogJSON)
	if err != nil {
		return nil, err
	}
	s.close = append(s.close, closeLog)
	cfg.AccessLog, cfg.Logger = accessLog, log
	if c.OnAccess != nil {
		cfg.AccessLog = c.OnAccess
	}
	reg, registerer, err := proxyRegistry(c.Metrics, cfg.Store)
	if err != nil {
		return nil, err
	}
	cfg.Registerer = registerer
	if err := s.bind(ctx, c, cfg, registerer, log); err != nil {
		return nil, err
	}
	return s, s.sides(ctx, c, reg, cfg.Store, log)
}

// proxyRegistry is the metrics registry, with the store's collector, when
// metrics are asked for.
func proxyRegistry(metrics string, store proxy.Store) (*prometheus.Registry, prometheus.Registerer, error) {
	reg := NewRegistry()
	if metrics == "" {
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
func (s *Proxy) bind(ctx context.Context, c ProxyConfig, cfg proxy.Config, reg prometheus.Registerer, log *slog.Logger) error {
	ln, err := ListenTCP(ctx, "proxy http", c.HTTP)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	s.ln = ln
	s.close = append(s.close, func() { ln.Close() })
	rctx, cancel := context.WithCancel(ctx)
	relay, err := StartRelay(rctx, c.Relay, log, reg)
	if err != nil {
		cancel()
		return err
	}
	s.Relay = relay
	s.close = append(s.close, func() { cancel(); _ = relay.Wait() })
	if !c.NoStreamImpair {
		cfg.WrapConn = relay.WrapConn
	}
	if hint := c.ErrorHint; hint != nil {
		// s.Proxy is set once New returns; no request arrives before.
		cfg.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) { s.Proxy.WriteError(w, hint(err)) }
	}
	if s.Proxy, err = proxy.New(cfg); err != nil {
		return err
	}
	s.URL = "http://" + ln.Addr().String()
	upstream := "(none: forward proxy only)"
	if cfg.Upstream != nil {
		upstream = cfg.Upstream.String()
	}
	log.Info("http proxy listening", "addr", ln.Addr().String(), "upstream", upstream, "cache_size", units.FormatBytes(float64(s.MemBound)), "cache_store", storeName(c.Store.Spec, cfg.Store))
	return nil
}

// sides binds the metrics and admin listeners asked for.
func (s *Proxy) sides(ctx context.Context, c ProxyConfig, reg *prometheus.Registry, store proxy.Store, log *slog.Logger) error {
	if c.Metrics != "" {
		run, err := MetricsServer(ctx, c.Metrics, reg, log)
		if err != nil {
			return err
		}
		s.side = append(s.side, run)
	}
	if c.Admin != "" {
		run, err := adminServer(ctx, c.Admin, s.Proxy, store, s.Relay, log)
		if err != nil {
			return err
		}
		s.side = append(s.side, run)
	}
	return nil
}

// Start runs the proxy and the side listeners under g, and has g watch
// the relay; g's cleanups release the rest.
func (s *Proxy) Start(g *Group) {
	g.Defer(s.release)
	g.Go(func(ctx context.Context) error { return s.Proxy.Serve(ctx, s.ln) })
	g.Go(func(ctx context.Context) error {
		// The relay runs under the context BuildProxy was given (the
		// group's): it stops with the group.
		return s.Relay.Wait()
	})
	for _, run := range s.side {
		g.Go(run)
	}
}

func (s *Proxy) release() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
	s.close = nil
}

// proxyStats is the /_socklab/stats document: the HTTP proxy's counters at
// the top level, the UDP relay's under "udp".
type proxyStats struct {
	proxy.Stats
	SharedTier *redisstore.Stats `json:"shared_tier,omitempty"` // a Redis store
	UDP        any               `json:"udp"`
}

// adminServer binds addr for GET /_socklab/stats; run serves it until its
// context ends.
func adminServer(ctx context.Context, addr string, p *proxy.Proxy, store proxy.Store, relay *Relay, log *slog.Logger) (run func(context.Context) error, err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_socklab/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = report.WriteJSON(w, proxyStats{Stats: p.Stats(), SharedTier: sharedTierStats(store), UDP: relay.Stats()})
	})
	return SideServer(ctx, "admin", addr, "/_socklab/stats", mux, log)
}
