package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/demo"
	"github.com/socklab/socklab/internal/load"
)

// demoOptions are the flags of "socklab demo".
type demoOptions struct {
	out         string
	keep        bool
	qosDuration time.Duration
	clients     int
	requests    int64
	seed        uint64
}

func newDemoCmd(e *env) *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole lab in one process: serve, proxy, cache hit, QoS, load, ping",
		Long: `demo shows the whole system at work in one command, explaining each step:

  1. starts "serve" (the embedded site and the UDP reflector) on free
     loopback ports;
  2. starts "proxy" (the HTTP caching proxy and the UDP relay, with a mild
     impairment: 10 ms delay, ±1 ms jitter and 1% loss in each direction,
     seeded with --seed so runs repeat) on free loopback ports;
  3. fetches the site's page twice through the proxy: a MISS, then a cache
     hit, and the time the cache saved;
  4. runs a QoS test through the relay for --qos-duration (probes every
     10 ms), appends a row to DIR/qos_result.csv (with the header when it
     creates the file) and writes DIR/qos_report.html;
  5. runs the multi-client simulation: --clients clients sending --requests
     requests through the proxy (closed loop);
  6. pings 127.0.0.1 when ICMP sockets are allowed (and says why not
     otherwise);

then prints a summary table and exits 0. If a step fails the demo says which,
stops everything and exits 1. --keep leaves the servers running after the
steps, with their URLs for a browser, until Ctrl-C.`,
		Example: `  socklab demo
  socklab demo --out /tmp/lab --qos-duration 10s
  socklab demo --keep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), e, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", ".", "folder for qos_result.csv and qos_report.html (created if missing)")
	f.BoolVar(&o.keep, "keep", false, "leave the servers running after the steps, until Ctrl-C")
	f.DurationVar(&o.qosDuration, "qos-duration", 5*time.Second, "length of the QoS test")
	f.IntVar(&o.clients, "clients", load.DefaultClients, "clients in the multi-client simulation")
	f.Int64Var(&o.requests, "requests", 200, "requests in the multi-client simulation, over all clients")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the relay's impairment, so runs repeat (0: a random seed)")
	return cmd
}

func runDemo(ctx context.Context, e *env, o *demoOptions) error {
	switch {
	case o.qosDuration <= 0:
		return usageErrf("--qos-duration must be positive, not %s", o.qosDuration)
	case o.clients < 1:
		return usageErrf("--clients must be at least 1, not %d", o.clients)
	case o.requests < 1:
		return usageErrf("--requests must be at least 1, not %d", o.requests)
	case o.out == "":
		return usageErrf("--out must name a folder")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("demo: --out: %w", err)
	}
	cfg, err := demoConfig(e, o)
	if err != nil {
		return err
	}
	d := demo.New(cfg)
	fmt.Fprintln(e.stdout, "socklab demo: the whole lab in one process, on free loopback ports.")
	err = d.Run(ctx)
	if serr := d.Stop(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// demoConfig is the demo's run: serve and proxy as their commands build
// them from their flags' defaults, on free loopback ports, so a new flag
// of either reaches the demo.
func demoConfig(e *env, o *demoOptions) (demo.Config, error) {
	log := e.logger(e.stderr)
	sf := defaultServeFlags()
	sf.http, sf.udp, sf.accessLog, sf.grace = "127.0.0.1:0", "127.0.0.1:0", "off", 2*time.Second
	serve, err := sf.config(e, log)
	if err != nil {
		return demo.Config{}, err
	}
	// The demo points the proxy at serve and sets the relay's impairment
	// once serve runs.
	pf := defaultProxyFlags()
	pf.http, pf.upstream, pf.cacheSize, pf.grace = "127.0.0.1:0", "", "64MiB", 2*time.Second
	pf.relay.udp = "127.0.0.1:0"
	proxy, err := pf.config(e, log)
	if err != nil {
		return demo.Config{}, err
	}
	return demo.Config{
		Serve: serve, Proxy: proxy, Dir: o.out, QoSDuration: o.qosDuration, Clients: o.clients, Requests: o.requests,
		Seed: o.seed, Keep: o.keep, Out: e.stdout, Stderr: e.stderr, Logger: log,
	}, nil
}
