package stack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/udpecho"
	"github.com/socklab/socklab/internal/webserver"
)

// ServeConfig is "socklab serve": the web server and the UDP reflector,
// where they listen, and their side listeners.
type ServeConfig struct {
	HTTP    string // the web server's listen address, host:port
	UDP     string // the reflector's listen address; "" turns it off
	Metrics string // Prometheus listener (/metrics, /healthz); "" none

	// AccessLog is where the web server's access log goes: "-" Stderr,
	// "" or "off" nowhere, anything else a file appended to.
	AccessLog string
	Stderr    io.Writer

	// Web and Echo are the engines' configs; the stack sets their
	// Registerer (with Metrics), Logger and the web server's AccessLog.
	Web  webserver.Config
	Echo udpecho.Config

	Logger *slog.Logger // nil: slog.Default()
}

// Serve is "socklab serve" built: the web server and the UDP reflector
// with their sockets bound, and the metrics listener.
type Serve struct {
	Web   *webserver.Server
	Echo  *udpecho.Server
	URL   string // http(s)://host:port of the web server
	ln    net.Listener
	pc    net.PacketConn // nil with UDP ""
	side  []func(context.Context) error
	close []func()
}

// BuildServe builds the engines and binds their sockets (so an address in
// use fails before anything runs). Nothing runs until Start. ctx carries
// the OnListen hook and bounds the side listeners.
func BuildServe(ctx context.Context, cfg ServeConfig) (_ *Serve, err error) {
	log := logger(cfg.Logger)
	s := &Serve{}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	web := cfg.Web
	accessLog, closeLog, err := openLog(cfg.AccessLog, cfg.Stderr)
	if err != nil {
		return nil, err
	}
	s.close = append(s.close, closeLog)
	web.AccessLog, web.Logger = accessLog, log
	reg := NewRegistry()
	if cfg.Metrics != "" {
		web.Registerer = reg
	}
	if s.Web, err = webserver.New(web); err != nil {
		return nil, err
	}
	s.close = append(s.close, func() { s.Web.Close() })
	echo := cfg.Echo
	echo.Logger, echo.Registerer = log, web.Registerer
	if s.Echo, err = udpecho.New(echo); err != nil {
		return nil, err
	}
	if err := s.bind(ctx, cfg, reg, log); err != nil {
		return nil, err
	}
	scheme := "http"
	if web.TLS != nil {
		scheme = "https"
	}
	s.URL = scheme + "://" + s.ln.Addr().String()
	root := web.Root
	if root == "" {
		root = "(embedded site)"
	}
	log.Info("http listening", "url", s.URL+"/", "root", root)
	if s.pc != nil {
		log.Info("udp echo listening", "addr", s.pc.LocalAddr().String(), "max_pps", echo.MaxPPS, "max_source_pps", echo.MaxSourcePPS)
	}
	return s, nil
}

// bind opens the HTTP, UDP and metrics sockets.
func (s *Serve) bind(ctx context.Context, cfg ServeConfig, reg *prometheus.Registry, log *slog.Logger) error {
	ln, err := ListenTCP(ctx, "serve http", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	s.ln = ln
	s.close = append(s.close, func() { ln.Close() })
	if cfg.UDP != "" {
		pc, err := s.Echo.Listen(ctx, cfg.UDP) // the whole SO_REUSEPORT group, one socket per worker
		if err != nil {
			return fmt.Errorf("udp: %w", err)
		}
		notifyListen(ctx, "serve udp", pc.LocalAddr())
		s.pc = pc
		s.close = append(s.close, func() { pc.Close() })
	}
	if cfg.Metrics != "" {
		run, err := MetricsServer(ctx, cfg.Metrics, reg, log)
		if err != nil {
			return err
		}
		s.side = append(s.side, run)
	}
	return nil
}

// UDPAddr is the reflector's address, "" with the reflector off.
func (s *Serve) UDPAddr() string {
	if s.pc == nil {
		return ""
	}
	return s.pc.LocalAddr().String()
}

// Start runs the services under g; g's cleanups release the rest.
func (s *Serve) Start(g *Group) {
	g.Defer(s.release)
	g.Go(func(ctx context.Context) error { return s.Web.Serve(ctx, s.ln) })
	if s.pc != nil {
		g.Go(func(ctx context.Context) error { return s.Echo.Serve(ctx, s.pc) })
	}
	for _, run := range s.side {
		g.Go(run)
	}
}

func (s *Serve) release() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
	s.close = nil
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
