package cli

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/procs"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/units"
)

// loadOptions are the flags of "socklab load".
type loadOptions struct {
	clients   int
	requests  int64
	duration  time.Duration
	rate      float64
	proxy     string
	method    string
	body      string
	bodyFile  string
	ctype     string
	headers   []string
	insecure  bool
	timeout   time.Duration
	size      string
	perClient bool
	json      bool
	procs     int
	out       string
	startAt   string
}

func newLoadCmd(e *env) *cobra.Command {
	var o loadOptions
	cmd := &cobra.Command{
		Use:   "load TARGET",
		Short: "Load an HTTP server or a UDP reflector with concurrent clients",
		Long: `Run concurrent clients against TARGET, an http:// or https:// URL or
udp://host:port, and report totals, successes, errors by kind, status codes,
requests and bytes per second, latency percentiles (min/p50/p90/p99/max from a
bounded-memory histogram), the cache-hit ratio when a cache answered, and with
--per-client each client's share.

By default each client sends its next request when the previous one ended
(closed loop). With --rate the requests follow a fixed timeline (open loop):
a slow server cannot slow the senders down, and latency is measured from the
time each request was due, so the time spent queued counts (no coordinated
omission).

The run lasts --requests requests or --duration, whichever ends first; with
neither, 10 s. Each HTTP client keeps one keep-alive connection. A UDP target
gets socklab QoS probes, so each client's loss and RTT are measured.

To load from several machines at once, start a generator on each with the
same --start-at (clocks in sync, e.g. by NTP) and --out FILE (or --json),
then combine the files with "socklab merge": the JSON carries the raw latency
histogram, so the merged percentiles are exact.

Flags follow wrk and hey where they can: -c clients, -n requests, -d duration
(wrk's -d; hey's -z is accepted too), -H header, -m or -X method, -D FILE body
(hey), -T content type (hey). The body's own flag is --body, not hey's -d,
which socklab and wrk use for the duration. A body without -X/-m is sent with
POST. Failed requests are counted by kind and the most frequent distinct error
messages listed with their counts, as hey does.

The first Ctrl-C stops sending, waits for the requests in flight and prints the
summary. The exit status is 1 when no request succeeded.`,
		Example: `  socklab load http://127.0.0.1:8000/
  socklab load --clients 50 --duration 30s --proxy http://127.0.0.1:8080 http://127.0.0.1:8000/
  socklab load --rate 200 --requests 2000 http://127.0.0.1:8000/slow
  socklab load --clients 5 --requests 500 --per-client udp://127.0.0.1:9090
  socklab load --start-at 2026-12-02T12:00:00Z --duration 30s --out gen1.json http://10.0.0.5:8000/
  socklab load -c 10 -n 1000 -D body.json -T application/json http://127.0.0.1:8000/api`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLoad(cmd, e, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.clients, "clients", "c", load.DefaultClients, "concurrent clients (connections or sockets)")
	f.Int64VarP(&o.requests, "requests", "n", 0, "total requests over all clients (0: no count limit)")
	f.DurationVarP(&o.duration, "duration", "d", 0, "run length (default 10s when --requests is not set)")
	f.Float64Var(&o.rate, "rate", 0, "open loop: total requests per second on a fixed schedule (0: closed loop)")
	f.StringVar(&o.proxy, "proxy", "", "HTTP proxy URL for HTTP targets (e.g. http://127.0.0.1:8080)")
	f.StringVarP(&o.method, "request", "X", "GET", "HTTP method (POST when a body is given)")
	f.StringVarP(&o.method, "method", "m", "GET", "hey's name for -X")
	f.StringVar(&o.body, "body", "", "request body (hey's -d; here -d is the duration, as in wrk)")
	f.StringVarP(&o.bodyFile, "body-file", "D", "", "read the request body from FILE, as hey's -D")
	f.StringVarP(&o.ctype, "content-type", "T", "", "Content-Type of the body, as hey's -T")
	f.DurationVarP(&o.duration, "hey-duration", "z", 0, "hey's name for -d/--duration")
	_ = f.MarkHidden("hey-duration")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header 'Name: value' (repeatable)")
	f.BoolVarP(&o.insecure, "insecure", "k", false, "skip TLS certificate verification")
	f.DurationVar(&o.timeout, "timeout", 0, "HTTP: limit for each request (default 10s); UDP: wait for a reply before counting a loss (default 1s)")
	f.StringVar(&o.size, "size", "64", "UDP probe size in bytes (64 to 65507)")
	f.BoolVar(&o.perClient, "per-client", false, "add a per-client breakdown")
	f.BoolVar(&o.json, "json", false, "print one JSON document")
	f.StringVar(&o.out, "out", "", "also write the JSON document (mergeable with socklab merge) to FILE")
	f.StringVar(&o.startAt, "start-at", "", "wait until TIME (RFC 3339 or Unix seconds) before the first request")
	f.IntVar(&o.procs, "procs", 0, "OS threads running Go code, like wrk's -t (0: half the CPUs when the target or --proxy is on this machine, else all; GOMAXPROCS set wins)")
	return cmd
}

// loadConfig turns the flags into the engine's Config.
func loadConfig(cmd *cobra.Command, e *env, o *loadOptions, target string) (load.Config, error) {
	var cfg load.Config
	h, err := flagx.Header(o.headers)
	if err != nil {
		return cfg, err
	}
	size, err := units.ParseSize(o.size)
	if err != nil {
		return cfg, usageErrf("--size: %v", err)
	}
	if o.clients < 1 {
		return cfg, usageErrf("--clients must be at least 1, not %d", o.clients)
	}
	if o.procs < 0 {
		return cfg, usageErrf("--procs must not be negative")
	}
	if o.proxy != "" {
		if _, err := load.ParseProxy(o.proxy); err != nil {
			return cfg, usageErrf("--proxy: %v", err)
		}
	}
	cfg = load.Config{
		Target: target, Clients: o.clients, Requests: o.requests, Duration: o.duration, Rate: o.rate,
		Proxy: o.proxy, Method: strings.ToUpper(o.method), Header: h, Insecure: o.insecure,
		Timeout: o.timeout, Logger: e.logger(e.stderr),
	}
	if err := loadBody(cmd, o, &cfg); err != nil {
		return cfg, err
	}
	if strings.HasPrefix(target, "udp://") {
		cfg.Size = int(size)
	}
	if cfg.StartAt, err = flagx.StartAt(o.startAt, time.Now()); err != nil {
		return cfg, usageErrf("--start-at: %v", err)
	}
	return cfg, nil
}

func runLoad(cmd *cobra.Command, e *env, o *loadOptions, target string) error {
	cfg, err := loadConfig(cmd, e, o, target)
	if err != nil {
		return err
	}
	l, err := load.New(cfg)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(target, "udp://") {
		defer procs.Cap(procs.ForLoad(o.procs, target, o.proxy, os.Getenv("GOMAXPROCS") != "", runtime.NumCPU()))()
	}
	out, err := output.CreateLoadOut(o.out)
	if err != nil {
		return err
	}
	if !cfg.StartAt.IsZero() {
		if d := time.Until(cfg.StartAt); d < 0 {
			fmt.Fprintf(e.stderr, "warning: --start-at was %.1f s ago; starting now\n", -d.Seconds())
		}
	}
	stopBar := output.LoadProgress(e.stderr, l)
	r, err := l.Run(cmd.Context())
	stopBar()
	if err != nil {
		if out != nil {
			out.Close()
			os.Remove(o.out)
		}
		return err
	}
	r.Host, _ = os.Hostname()
	if !o.perClient {
		r.PerClient = nil
	}
	if out != nil {
		if err := output.WriteLoadOut(out, r); err != nil {
			return err
		}
	}
	if o.json {
		if err := writeJSON(e.stdout, report.LoadJSON(r)); err != nil {
			return err
		}
	} else if err := report.WriteLoadText(e.stdout, r); err != nil {
		return err
	}
	if r.Successes == 0 {
		return silentExit(ExitFailure)
	}
	return nil
}

// loadBody applies --body, -D and -T: the body, POST unless a method was
// given, and the Content-Type.
func loadBody(cmd *cobra.Command, o *loadOptions, cfg *load.Config) error {
	fl := cmd.Flags()
	switch {
	case fl.Changed("body") && o.bodyFile != "":
		return usageErrf("--body and -D/--body-file are alternatives: give one")
	case fl.Changed("body"):
		cfg.Body = []byte(o.body)
	case o.bodyFile != "":
		b, err := os.ReadFile(o.bodyFile)
		if err != nil {
			return fmt.Errorf("load: -D: %w", err)
		}
		cfg.Body = b
	}
	if cfg.Body != nil && !fl.Changed("request") && !fl.Changed("method") {
		cfg.Method = "POST"
	}
	if o.ctype != "" {
		cfg.Header.Set("Content-Type", o.ctype)
	}
	return nil
}
