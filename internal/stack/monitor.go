package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/monitor"
	"github.com/socklab/socklab/internal/report"
)

// MonitorConfig is "socklab monitor": the monitor engine, the listener of
// its page, /metrics and /healthz, and the targets file it re-reads.
type MonitorConfig struct {
	// Monitor is the engine's config; its Targets are the command line's,
	// TargetsFile's are added. The stack sets Registerer and Logger.
	Monitor     monitor.Config
	Listen      string // the page's listen address
	TargetsFile string // "" none
	// Reload, when TargetsFile is set, re-reads it on every value (the
	// command sends SIGHUP there); a file that does not parse is logged
	// and the running targets are kept.
	Reload <-chan os.Signal
	Logger *slog.Logger
}

// Monitor runs the monitor and its listener until ctx ends and returns
// the engine, for its final snapshot.
func Monitor(ctx context.Context, cfg MonitorConfig) (*monitor.Monitor, error) {
	log := logger(cfg.Logger)
	fromArgs := cfg.Monitor.Targets
	targets, err := MonitorTargets(fromArgs, cfg.TargetsFile)
	if err != nil {
		return nil, err
	}
	reg := NewRegistry()
	mc := cfg.Monitor
	mc.Targets, mc.Registerer, mc.Logger = targets, reg, log
	m, err := monitor.New(mc)
	if err != nil {
		return nil, errs.Invalid(err)
	}
	serve, err := SideServer(ctx, "monitor", cfg.Listen, "/", monitorMux(m, reg), log)
	if err != nil {
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- serve(ctx) }()
	if cfg.TargetsFile != "" && cfg.Reload != nil {
		go reloadTargets(ctx, cfg.Reload, m, fromArgs, cfg.TargetsFile, log)
	}
	runErr := m.Run(ctx)
	return m, errors.Join(runErr, <-served)
}

// monitorMux serves the live page, /metrics and /healthz.
func monitorMux(m *monitor.Monitor, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", MetricsHandler(reg))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Refresh", "10") // a live page without a script
		_ = report.WriteMonitorHTML(w, m.Snapshot(), time.Now())
	})
	return mux
}

// MonitorTargets is the targets of the command line followed by those of
// file (when given). A file that cannot be read or parsed is a FieldError
// of TargetsFile.
func MonitorTargets(fromArgs []monitor.Target, file string) ([]monitor.Target, error) {
	if file == "" {
		return fromArgs, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, &FieldError{"TargetsFile", err}
	}
	defer f.Close()
	fromFile, err := monitor.ParseTargets(f)
	if err != nil {
		return nil, &FieldError{"TargetsFile", fmt.Errorf("%s: %w", file, err)}
	}
	return append(append([]monitor.Target(nil), fromArgs...), fromFile...), nil
}

// reloadTargets re-reads the targets file on every reload, as nginx and
// Prometheus reload their configuration on SIGHUP; a file that does not
// parse is logged and the running targets are kept.
func reloadTargets(ctx context.Context, reload <-chan os.Signal, m *monitor.Monitor, fromArgs []monitor.Target, file string, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
			ts, err := MonitorTargets(fromArgs, file)
			if err != nil {
				log.Error("monitor: reload failed; keeping the current targets", "err", err)
				continue
			}
			m.SetTargets(ts)
			log.Info("monitor: targets reloaded", "file", file, "targets", len(ts))
		}
	}
}
