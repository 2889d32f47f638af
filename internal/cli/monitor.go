package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/monitor"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/stack"
	"github.com/socklab/socklab/internal/units"
)

// DefaultMonitorMetrics is where socklab monitor serves /metrics and its
// page: loopback, as every socklab listener by default.
const DefaultMonitorMetrics = "127.0.0.1:9190"

type monitorOptions struct {
	metrics  string
	interval time.Duration
	timeout  time.Duration
	size     string
	targets  string
	insecure bool
}

func newMonitorCmd(e *env) *cobra.Command {
	var o monitorOptions
	cmd := &cobra.Command{
		Use:   "monitor [TARGET...]",
		Short: "Probe many targets continuously and export Prometheus metrics",
		Long: `Probe every TARGET at a low rate, for as long as it runs, like smokeping_prober
and blackbox_exporter:

  udp://host:port   socklab QoS probes to a reflector (socklab serve's --udp, or
                    the proxy's relay): RTT, loss split into up and down by the
                    reflector's receive count, duplicates, reordering, RFC 3550
                    jitter each way
  icmp://host       ICMP echo (needs CAP_NET_RAW or net.ipv4.ping_group_range)
  http(s)://URL     a GET on a fresh connection, timed to the last body byte;
                    an error or a 5xx counts as lost

Metrics named socklab_monitor_* are served at http://ADDR/metrics (--metrics),
with a live page of the last hour per target at http://ADDR/ and /healthz.
--targets FILE adds the targets in FILE (one per line, # comments) and is
re-read on SIGHUP; targets added keep probing, removed ones disappear from the
metrics. Ctrl-C stops and prints one line per target.`,
		Example: `  socklab monitor udp://127.0.0.1:9000 icmp://127.0.0.1 http://127.0.0.1:8000/
  socklab monitor --targets /etc/socklab/targets --metrics 0.0.0.0:9190`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMonitor(cmd.Context(), e, &o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.metrics, "metrics", DefaultMonitorMetrics, "serve /metrics, the live page and /healthz on ADDR")
	f.DurationVarP(&o.interval, "interval", "i", monitor.DefaultInterval, "time between two probes of one target")
	f.DurationVar(&o.timeout, "timeout", monitor.DefaultTimeout, "a probe unanswered after this long is lost")
	f.StringVar(&o.size, "size", "64", "UDP probe size in bytes (64 to 65507)")
	f.StringVar(&o.targets, "targets", "", "read more targets from FILE (one per line); re-read on SIGHUP")
	f.BoolVarP(&o.insecure, "insecure", "k", false, "skip TLS certificate verification for https targets")
	return cmd
}

func runMonitor(ctx context.Context, e *env, o *monitorOptions, args []string) error {
	size, err := units.ParseSize(o.size)
	if err != nil {
		return usageErrf("--size: %v", err)
	}
	if o.interval <= 0 || o.timeout <= 0 {
		return usageErrf("--interval and --timeout must be positive")
	}
	var fromArgs []monitor.Target
	for _, a := range args {
		t, err := monitor.ParseTarget(a)
		if err != nil {
			return usageErr(err)
		}
		fromArgs = append(fromArgs, t)
	}
	if len(fromArgs) == 0 && o.targets == "" {
		return usageErrf("no target: give udp://host:port, icmp://host or http(s):// URLs, or --targets FILE")
	}
	// Catch SIGHUP before anything can send it (its default kills us).
	hup := make(chan os.Signal, 1)
	if o.targets != "" {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	m, err := stack.Monitor(ctx, stack.MonitorConfig{
		Monitor: monitor.Config{Targets: fromArgs, Interval: o.interval, Timeout: o.timeout, Size: int(size), Insecure: o.insecure},
		Listen:  o.metrics, TargetsFile: o.targets, Reload: hup, Logger: e.logger(e.stderr),
	})
	if err != nil {
		return withStackFlag(err)
	}
	return report.WriteMonitorText(e.stdout, m.Snapshot())
}
