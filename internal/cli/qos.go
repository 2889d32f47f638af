package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/units"
)

type qosFlags struct {
	size           string
	interval       time.Duration
	rate           string
	burst          bool
	count          int64
	duration       time.Duration
	streams        int
	wait           time.Duration
	owd            bool
	oneWay         bool
	reportInterval time.Duration
	json           bool
	jsonStream     bool
	csv            string
	report         string
	tcp            string
	ipv4, ipv6     bool
	noProgress     bool
}

func newQoSCmd(e *env) *cobra.Command {
	var f qosFlags
	cmd := &cobra.Command{
		Use:   "qos [TARGET]",
		Short: "Measure loss, RTT, jitter and throughput to a UDP reflector (or TCP goodput)",
		Long: `qos sends socklab probes to a reflector (socklab serve's UDP port, or
the proxy's relay in front of it) and measures the path:

  loss        sent, received, lost — split into upstream and downstream
              with the reflector's receive count — duplicates, reordered
              (RFC 4737) and late replies (after --wait);
  RTT         min/avg/p50/p90/p95/p99/max/stddev on the monotonic clock,
              the reflector's dwell time removed, kernel receive timestamps
              where available; percentiles from a bounded histogram, so a
              24-hour run stays in constant memory;
  jitter      RFC 3550 interarrival jitter per direction (the figure iperf3
              prints) and IPDV (RFC 3393) per direction; neither needs
              synchronised clocks. --owd adds absolute one-way delays when
              you know the clocks are synced;
  throughput  offered and received payload, goodput and on-wire bit/s
              (+28 B per datagram over IPv4, +48 B over IPv6), packets/s;
  self-check  schedule error, timer misses, socket receive drops; what the
              reflector's rate cap dropped (from its end-of-run report),
              never counted as path loss; "warning:" lines when a limit of
              socklab itself touched the run.

--one-way sends probes that socklab serve counts and times but does not
answer, and reads its counts back at the end (as iperf3 does): loss,
jitter and throughput one way, no RTT.

TARGET defaults to 127.0.0.1:9090 (through "socklab proxy"); use
127.0.0.1:9000 to reach "socklab serve" directly. Probes go on an absolute
schedule (start + k·interval): every --interval (default 10ms), at --rate
(e.g. 10M: the interval follows from --size), or --burst (as fast as
possible). Each of --streams sessions sends --count probes (default 1000
when no --duration is given: 10 s at the default interval).

Interval lines print every --report-interval while the test runs, then a
summary table; --json prints one JSON document instead, --json-stream one
JSON event per line. Every run appends a row to --csv (default
qos_result.csv; --csv "" turns it off) and --report FILE.html writes a
self-contained HTML report with charts. On a terminal a progress bar shows
for runs longer than 2 s. The CSV and report files are opened before the
test, so a bad path fails at once. SIGINT stops sending, waits for replies in
flight and prints the summary.

iperf3's short flags mean what they mean there: -t seconds (--duration),
-b bit rate (--rate, decimal: 10M = 10,000,000 bit/s), -l length (--size,
binary: 1K = 1024 bytes), -P parallel streams (--streams), -J JSON (--json).

--tcp URL measures TCP instead: it streams from socklab serve's
/_socklab/bytes endpoint for --duration (default 10s), printing goodput per
interval and, where the platform has TCP_INFO, RTT and retransmits.`,
		Example: `  socklab qos                                   # 1000 probes via the proxy
  socklab qos 127.0.0.1:9000 --count 100 --interval 1ms
  socklab qos --rate 50M --size 1400 --duration 10s --streams 4
  socklab qos --duration 1m --report qos_report.html
  socklab qos --json --csv "" | jq .rtt_p99_ms
  socklab qos --tcp http://127.0.0.1:8000 --duration 5s
  socklab qos -t 10 -b 10M -l 1400 -P 2 -J`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQoS(cmd, e, f, args)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// register defines the flags of "socklab qos" on fl, with their defaults.
func (f *qosFlags) register(fl *pflag.FlagSet) {
	fl.StringVarP(&f.size, "size", "l", "64", "probe payload in bytes, header included (64 to 65507; 1K = 1024 as in iperf3, 1KB = 1000)")
	fl.DurationVar(&f.interval, "interval", qos.DefaultInterval, "time between probes of a stream")
	fl.StringVarP(&f.rate, "rate", "b", "", "target payload bit rate per stream, e.g. 10M or 1.5G, decimal as in iperf3 (sets the interval from --size)")
	fl.BoolVar(&f.burst, "burst", false, "send as fast as possible (no pacing)")
	fl.Int64Var(&f.count, "count", 0, "probes per stream (default 1000 unless --duration is given)")
	fl.DurationVarP(&f.duration, "duration", "t", 0, "how long to send, in seconds or with a unit (default: until --count; 10s with --tcp)")
	fl.IntVarP(&f.streams, "streams", "P", 1, "parallel sessions, each on its own socket (at most 128)")
	fl.DurationVar(&f.wait, "wait", 0, "how long to wait for stragglers after the last probe; slower replies are late (default: 2× the largest RTT, at least 200ms)")
	fl.BoolVar(&f.owd, "owd", false, "also report one-way delays (only meaningful with synchronised clocks)")
	fl.BoolVar(&f.oneWay, "one-way", false, "measure one way: the reflector (socklab serve) counts the probes without answering and reports at the end")
	fl.DurationVar(&f.reportInterval, "report-interval", qos.DefaultReportInterval, "period of the interval lines (0: none)")
	fl.BoolVarP(&f.json, "json", "J", false, "print one JSON document (snake_case, ms, bit/s) instead of text")
	fl.BoolVar(&f.jsonStream, "json-stream", false, "print NDJSON events (start, interval, end) as the test runs")
	fl.StringVar(&f.csv, "csv", "qos_result.csv", "append one row per run to this CSV file (\"\": none)")
	fl.StringVar(&f.report, "report", "", "write a self-contained HTML report with charts to this file")
	fl.StringVar(&f.tcp, "tcp", "", "measure TCP goodput from this socklab serve URL instead (e.g. http://127.0.0.1:8000)")
	fl.BoolVarP(&f.ipv4, "ipv4", "4", false, "use IPv4 only")
	fl.BoolVarP(&f.ipv6, "ipv6", "6", false, "use IPv6 only")
	fl.BoolVar(&f.noProgress, "no-progress", false, "never draw the progress bar")
}

// qosConfig turns the flags into an engine Config; errors are usage errors.
func qosConfig(cmd *cobra.Command, f qosFlags, args []string) (qos.Config, error) {
	cfg := qos.Config{
		Interval: f.interval, Burst: f.burst, Count: f.count, Duration: f.duration,
		Streams: f.streams, Wait: f.wait, OWD: f.owd, TCP: f.tcp, OneWay: f.oneWay,
		ReportInterval: f.reportInterval,
	}
	if f.oneWay && f.tcp != "" {
		return cfg, usageErrf("--one-way is for UDP probes, not --tcp")
	}
	if len(args) == 1 {
		if f.tcp != "" {
			return cfg, usageErrf("give either TARGET or --tcp URL, not both")
		}
		cfg.Target = args[0]
	}
	if f.reportInterval == 0 {
		cfg.ReportInterval = -1
	} else if f.reportInterval < 0 {
		return cfg, usageErrf("--report-interval must not be negative")
	}
	size, err := units.ParseSize(f.size)
	if err != nil {
		return cfg, usageErrf("--size: %v", err)
	}
	cfg.Size = int(size)
	if f.rate != "" {
		if cfg.Rate, err = units.ParseBitrate(f.rate); err != nil {
			return cfg, usageErrf("--rate: %v", err)
		}
		if cfg.Rate <= 0 {
			return cfg, usageErrf("--rate must be positive")
		}
	}
	set := func(name string) bool { return cmd.Flags().Changed(name) }
	switch {
	case f.burst && (f.rate != "" || set("interval")):
		return cfg, usageErrf("--burst, --rate and --interval are alternatives: give one")
	case f.rate != "" && set("interval"):
		return cfg, usageErrf("--rate and --interval are alternatives: give one")
	case f.interval <= 0:
		return cfg, usageErrf("--interval must be positive, not %s", f.interval)
	case f.streams < 1: // the engine reads 0 as its default; the flag says 1
		return cfg, usageErrf("--streams must be at least 1, not %d", f.streams)
	case f.ipv4 && f.ipv6:
		return cfg, usageErrf("-4 and -6 exclude each other")
	case f.json && f.jsonStream:
		return cfg, usageErrf("--json and --json-stream exclude each other")
	case f.report != "" && !strings.HasSuffix(strings.ToLower(f.report), ".html") && !strings.HasSuffix(strings.ToLower(f.report), ".htm"):
		return cfg, usageErrf("--report %s: the report is HTML; name it FILE.html", f.report)
	}
	if f.ipv4 {
		cfg.Network = "udp4"
	}
	if f.ipv6 {
		cfg.Network = "udp6"
	}
	return cfg, nil
}

func runQoS(cmd *cobra.Command, e *env, f qosFlags, args []string) error {
	cfg, err := qosConfig(cmd, f, args)
	if err != nil {
		return err
	}
	files, err := output.OpenQoSFiles(f.csv, f.report)
	if err != nil {
		return err
	}
	defer files.Close()
	cfg.Logger = e.logger(e.stderr)
	out := &output.QoSEvents{Stdout: e.stdout, Stderr: e.stderr, JSON: f.json, JSONStream: f.jsonStream, Config: cfg}
	out.Progress = !f.noProgress && !f.json && !f.jsonStream && output.IsTerminal(e.stdout) && output.IsTerminal(e.stderr)
	cfg.OnEvent = out.Event
	tester, err := qos.New(cfg)
	if err != nil {
		return err
	}
	res, runErr := tester.Run(cmd.Context())
	out.ClearBar()
	if res == nil {
		files.Discard()
		return runErr
	}
	// A run that failed half-way (a TCP stream reset) still shows what it
	// measured before the error.

	switch {
	case f.json:
		if err := report.WriteQoSJSON(e.stdout, res); err != nil {
			return err
		}
	case f.jsonStream:
		// The end event has already carried the result.
	default:
		if err := report.WriteQoSText(e.stdout, res); err != nil {
			return err
		}
	}
	if err := errors.Join(runErr, files.Write(res)); err != nil {
		return err
	}
	if res.TCP == nil && res.Total.Sent > 0 && res.Total.Received == 0 {
		return fmt.Errorf("qos: no replies from %s (is a reflector such as \"socklab serve\" listening there?)", res.Target)
	}
	return nil
}
