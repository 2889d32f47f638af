package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/buildinfo"
)

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors and socklab_build_info, the base every long-running command
// exposes on --metrics.
//
// The collectors come from the prometheus package itself, not from
// prometheus/collectors: those are one-line wrappers around these same
// constructors, and importing that package links database/sql (for its
// DBStatsCollector) into every socklab command, whose package init runs at
// every start (issue 15).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	//lint:ignore SA1019 collectors.NewGoCollector and NewProcessCollector call exactly these (see above).
	goc, proc := prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{})
	reg.MustRegister(goc, proc, buildinfo.Read().Collector())
	return reg
}

// MetricsServer binds addr for reg at /metrics; run serves it until its
// context ends.
func MetricsServer(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) (run func(context.Context) error, err error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(reg))
	// A liveness probe for orchestrators: the process is up and serving.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, "ok\n")
	})
	return SideServer(ctx, "metrics", addr, "/metrics", mux, log)
}

// SideServer binds a small side listener (metrics, admin) for h on addr
// now, so an address in use is reported at start; run serves it until its
// context ends, then shuts it down.
func SideServer(ctx context.Context, name, addr, path string, h http.Handler, log *slog.Logger) (run func(context.Context) error, err error) {
	ln, err := ListenTCP(ctx, name, addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener %s: %w", name, addr, err)
	}
	log.Info(name+" listening", "url", "http://"+ln.Addr().String()+path)
	return func(ctx context.Context) error {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		stop := context.AfterFunc(ctx, func() {
			shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdownCtx)
		})
		defer stop()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("%s server: %w", name, err)
		}
		return nil
	}, nil
}
