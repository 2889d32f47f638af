package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/stack"
	"github.com/socklab/socklab/internal/udprelay"
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

// The demo's QoS test paces probes like "socklab qos" does by default.
const demoQoSInterval = 10 * time.Millisecond

// demoStepTimeout bounds each HTTP request of the demo: on loopback a
// request that takes this long means something is broken.
const demoStepTimeout = 10 * time.Second

// demoImpairment is the mild impairment the relay applies to the QoS test,
// announced before the test so its figures can be read against it. It
// applies in each direction, like a symmetric link.
func demoImpairment(seed uint64) impair.Config {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return impair.Config{Delay: 10 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.01, Seed: seed}
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
	d := &demo{e: e, o: o, w: e.stdout, log: e.logger(e.stderr)}
	fmt.Fprintln(d.w, "socklab demo: the whole lab in one process, on free loopback ports.")
	err := d.run(ctx)
	if d.servers != nil {
		if serr := d.servers.stop(); serr != nil && err == nil {
			err = fmt.Errorf("demo: stopping the servers: %w", serr)
		}
		fmt.Fprintln(d.w, "servers stopped.")
	}
	return err
}

// demo is one run: the servers it started and what each step found, for
// the summary.
type demo struct {
	e   *env
	o   *demoOptions
	w   io.Writer
	log *slog.Logger

	servers *demoServers
	step    int
	results []demoResult      // what each step that ran found
	summary []report.DemoStep // step, status, result
}

// demoStep is one numbered step: what it does, and the function doing it.
// run returns what the step found, or errDemoSkipped wrapped with the
// reason.
type demoStep struct {
	name string
	what string
	run  func(ctx context.Context) (demoResult, error)
}

// errDemoSkipped marks a step that could not run here, for a reason that is
// no failure of socklab (ICMP sockets not allowed, say).
var errDemoSkipped = errors.New("skipped")

func (d *demo) run(ctx context.Context) error {
	steps := []demoStep{
		{"serve", "start serve: the embedded web site and the UDP reflector", d.startServe},
		{"proxy", "start proxy: the HTTP caching proxy and the impairing UDP relay", d.startProxy},
		{"cache", "fetch the site's page twice through the proxy", d.fetchTwice},
		{"qos", "UDP QoS test through the relay", d.qosTest},
		{"load", "multi-client simulation through the proxy", d.loadTest},
		{"ping", "ping 127.0.0.1 (ICMP echo)", d.ping},
	}
	for i, s := range steps {
		d.step = i + 1
		fmt.Fprintf(d.w, "\n[%d/%d] %s\n", d.step, len(steps), s.what)
		res, err := s.run(ctx)
		if res != nil {
			d.results = append(d.results, res)
		}
		switch {
		case err == nil:
			d.summary = append(d.summary, report.DemoStep{Name: s.name, Status: "ok", Result: res.Summary()})
		case errors.Is(err, errDemoSkipped) && ctx.Err() == nil:
			fmt.Fprintf(d.w, "  skipped: %s\n", strings.TrimSuffix(err.Error(), ": "+errDemoSkipped.Error()))
			d.summary = append(d.summary, report.DemoStep{Name: s.name, Status: "skipped", Result: res.Summary()})
		case ctx.Err() != nil:
			fmt.Fprintf(d.w, "  interrupted (%v): stopping\n", context.Cause(ctx))
			d.summary = append(d.summary, report.DemoStep{Name: s.name, Status: "interrupted"})
			d.printSummary()
			return fmt.Errorf("demo: interrupted during step %d (%s)", d.step, s.name)
		default:
			fmt.Fprintf(d.w, "  FAILED: %v\n", err)
			d.summary = append(d.summary, report.DemoStep{Name: s.name, Status: "FAILED", Result: err.Error()})
			d.printSummary()
			return fmt.Errorf("demo: step %d (%s) failed: %w", d.step, s.name, err)
		}
	}
	d.printSummary()
	if d.o.keep {
		d.keep(ctx)
	}
	return nil
}

func (d *demo) printSummary() { _ = report.WriteDemoSummary(d.w, d.summary) }

// demoResult is what one step found, as values (report.DemoServe,
// DemoProxy, DemoCache, DemoQoS, DemoLoad, DemoPing): the summary table
// shows Summary, tests read the fields.
type demoResult interface{ Summary() string }

// keep leaves the servers up until ctx ends, showing the proxy's access log
// so what a browser does can be followed.
func (d *demo) keep(ctx context.Context) {
	s := d.servers
	_ = report.WriteDemoKeep(d.w, report.DemoServe{WebURL: s.webURL, EchoAddr: s.echoAddr},
		report.DemoProxy{ProxyURL: s.proxyURL, RelayAddr: s.relayAddr})
	s.showAccess(d.e.stderr)
	<-ctx.Done()
	fmt.Fprintln(d.w)
}

// demoServers are the services the demo runs in-process: the stacks
// "socklab serve" and "socklab proxy" build, under one supervisor.
type demoServers struct {
	webURL, echoAddr    string // serve
	proxyURL, relayAddr string // proxy

	g     *stack.Group
	relay *udprelay.Relay

	// The proxy's access log goes to the fetch step (capture) or, with
	// --keep, to stderr (show).
	access  chan proxy.AccessEntry
	capture atomic.Bool
	show    atomic.Pointer[io.Writer]
	showMu  sync.Mutex
}

// newDemoServers returns an empty set of services. They run under a
// context of their own, detached from the steps' (values kept), so they
// outlive each step and stop only in stop.
func newDemoServers(parent context.Context) *demoServers {
	return &demoServers{g: stack.NewGroup(context.WithoutCancel(parent)), access: make(chan proxy.AccessEntry, 8)}
}

// stop cancels every service, waits for them to finish and returns their
// errors.
func (s *demoServers) stop() error { return s.g.Stop() }

func (s *demoServers) accessLog(a proxy.AccessEntry) {
	if s.capture.Load() {
		select {
		case s.access <- a:
		default:
		}
	}
	if w := s.show.Load(); w != nil {
		s.showMu.Lock()
		defer s.showMu.Unlock()
		fmt.Fprintln(*w, "proxy: "+proxy.FormatAccess(a))
	}
}

func (s *demoServers) showAccess(w io.Writer) { s.show.Store(&w) }

// demoServeFlags are "socklab serve"'s defaults on free loopback ports.
func demoServeFlags() serveFlags {
	f := defaultServeFlags()
	f.http, f.udp, f.accessLog, f.grace = "127.0.0.1:0", "127.0.0.1:0", "off", 2*time.Second
	return f
}

// demoProxyFlags are "socklab proxy"'s defaults on free loopback ports, in
// front of serve, with the demo's impairment on the relay.
func demoProxyFlags(webURL, echoAddr string, imp impair.Config) proxyFlags {
	f := defaultProxyFlags()
	f.http, f.upstream, f.cacheSize, f.grace = "127.0.0.1:0", webURL, "64MiB", 2*time.Second
	f.relay.udp, f.relay.upstream = "127.0.0.1:0", echoAddr
	f.relay.delay, f.relay.jitter, f.relay.loss, f.relay.seed = imp.Delay, imp.Jitter, fmt.Sprintf("%g%%", imp.Loss*100), imp.Seed
	return f
}

func (d *demo) startServe(ctx context.Context) (demoResult, error) {
	s := newDemoServers(ctx)
	d.servers = s
	cfg, err := demoServeFlags().config(d.e, d.log)
	if err != nil {
		return nil, err
	}
	st, err := stack.BuildServe(stack.WithOnListen(s.g.Context(), stack.OnListenOf(ctx)), cfg)
	if err != nil {
		return nil, err
	}
	st.Start(s.g)
	s.webURL, s.echoAddr = st.URL, st.UDPAddr()
	r := report.DemoServe{WebURL: s.webURL, EchoAddr: s.echoAddr}
	return r, r.Write(d.w)
}

func (d *demo) startProxy(ctx context.Context) (demoResult, error) {
	s := d.servers
	imp := demoImpairment(d.o.seed)
	f := demoProxyFlags(s.webURL, s.echoAddr, imp)
	cfg, err := f.config(d.e, d.log)
	if err != nil {
		return nil, err
	}
	cfg.OnAccess, cfg.NoStreamImpair = s.accessLog, true
	st, err := stack.BuildProxy(stack.WithOnListen(s.g.Context(), stack.OnListenOf(ctx)), cfg)
	if err != nil {
		return nil, withStackFlag(err)
	}
	st.Start(s.g)
	s.proxyURL, s.relayAddr, s.relay = st.URL, st.Relay.Addr, st.Relay.Relay
	r := report.DemoProxy{ProxyURL: s.proxyURL, RelayAddr: s.relayAddr, WebURL: s.webURL, EchoAddr: s.echoAddr, Impairment: imp}
	return r, r.Write(d.w)
}

// fetchTwice shows the cache at work: the first request is a MISS, the
// repeat is served from the cache.
func (d *demo) fetchTwice(ctx context.Context) (demoResult, error) {
	s := d.servers
	page := s.webURL + "/"
	fmt.Fprintf(d.w, "  GET %s via the proxy %s, twice on one connection, as a browser would\n", page, s.proxyURL)
	p, err := load.NewProber(load.ProbeConfig{URL: page, Proxy: s.proxyURL, Timeout: demoStepTimeout})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	s.capture.Store(true)
	defer s.capture.Store(false)
	var rs [2]*load.ProbeResult
	for i := range rs {
		r, err := p.Do(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("fetch %d: %w", i+1, err)
		}
		if r.Status != 200 {
			return nil, fmt.Errorf("fetch %d: %s", i+1, r.StatusText)
		}
		rs[i] = r
		fmt.Fprintf(d.w, "  fetch %d  %s  %d bytes in %s   X-Cache: %s\n", i+1, r.StatusText, r.Size, report.FormatMs(r.Timing.Total), r.Header.Get("X-Cache"))
		fmt.Fprintf(d.w, "           Cache-Status: %s\n", r.CacheStatus)
		select {
		case a := <-s.access:
			fmt.Fprintf(d.w, "           proxy log: %s\n", proxy.FormatAccess(a))
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		fmt.Fprintf(d.w, "           → %s\n", report.ExplainVerdict(r))
	}
	if rs[0].Cache != load.CacheMiss || !load.IsCacheHit(rs[1].Cache) {
		return nil, fmt.Errorf("expected a MISS then a cache hit, got %q then %q", rs[0].Cache, rs[1].Cache)
	}
	miss, hit := rs[0].Timing.Total, rs[1].Timing.Total
	c := report.DemoCache{Verdicts: [2]string{rs[0].Cache, rs[1].Cache}, Miss: miss, Hit: hit}
	if saved := c.Saved(); saved > 0 {
		fmt.Fprintf(d.w, "  the cache saved %s: MISS %s, then %s %s (%.0f%% faster; the MISS also paid for the connection)\n",
			report.FormatMs(saved), report.FormatMs(miss), c.HitName(), report.FormatMs(hit), 100*float64(saved)/float64(miss))
	} else {
		fmt.Fprintf(d.w, "  no time saved this run: MISS %s, then %s %s (on loopback the origin is as near as the cache)\n",
			report.FormatMs(miss), c.HitName(), report.FormatMs(hit))
	}
	return c, nil
}

// qosTest runs the QoS engine through the relay and writes the CSV row and
// the HTML report.
func (d *demo) qosTest(ctx context.Context) (demoResult, error) {
	s := d.servers
	fmt.Fprintf(d.w, "  64-byte probes every %v for %v to the relay %s; it impairs them and forwards\n", demoQoSInterval, d.o.qosDuration, s.relayAddr)
	fmt.Fprintf(d.w, "  them to the reflector %s, which stamps them and sends them back the same way\n", s.echoAddr)
	iw := &indentWriter{w: d.w, prefix: "  "}
	header := false
	t, err := qos.New(qos.Config{
		Target: s.relayAddr, Interval: demoQoSInterval, Duration: d.o.qosDuration,
		ReportInterval: time.Second, Logger: d.log,
		OnEvent: func(ev qos.Event) {
			if ev.Kind != qos.EventInterval {
				return
			}
			if !header {
				_ = report.WriteQoSIntervalHeader(iw)
				header = true
			}
			_ = report.WriteQoSInterval(iw, ev.Intervals)
		},
	})
	if err != nil {
		return nil, err
	}
	res, err := t.Run(ctx)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := report.WriteQoSText(iw, res); err != nil {
		return nil, err
	}
	tot := res.Total
	if tot.Received == 0 {
		return nil, fmt.Errorf("no replies from %s", res.Target)
	}
	rs := s.relay.Stats()
	fmt.Fprintf(d.w, "  the relay saw: up %d datagrams, %d dropped by the loss model; down %d, %d dropped\n",
		rs.Up.Packets, rs.Up.DropsLoss, rs.Down.Packets, rs.Down.DropsLoss)
	csvPath := filepath.Join(d.o.out, "qos_result.csv")
	if err := appendQoSCSV(csvPath, res); err != nil {
		return nil, err
	}
	htmlPath := filepath.Join(d.o.out, "qos_report.html")
	if err := writeQoSReport(htmlPath, res); err != nil {
		return nil, err
	}
	fmt.Fprintf(d.w, "  appended a row to %s\n", csvPath)
	fmt.Fprintf(d.w, "  wrote %s (open it in a browser: RTT over time, histogram, jitter)\n", htmlPath)
	return report.DemoQoS{Result: res, CSV: csvPath, HTML: htmlPath}, nil
}

// loadTest runs the seed's multi-client simulation through the proxy.
func (d *demo) loadTest(ctx context.Context) (demoResult, error) {
	s := d.servers
	page := s.webURL + "/"
	fmt.Fprintf(d.w, "  %d clients, each on its own connection, send %d GETs of %s through the proxy;\n", d.o.clients, d.o.requests, page)
	fmt.Fprintln(d.w, "  each sends its next request as soon as its last one is answered (closed loop)")
	l, err := load.New(load.Config{Target: page, Proxy: s.proxyURL, Clients: d.o.clients, Requests: d.o.requests,
		Timeout: demoStepTimeout, Logger: d.log})
	if err != nil {
		return nil, err
	}
	r, err := l.Run(ctx)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := report.WriteLoadText(&indentWriter{w: d.w, prefix: "  "}, r); err != nil {
		return nil, err
	}
	if r.Failures > 0 {
		return report.DemoLoad{Result: r}, fmt.Errorf("%d of %d requests failed (%s)", r.Failures, r.Requests, strings.Join(r.SortedErrors(), ", "))
	}
	return report.DemoLoad{Result: r}, nil
}

// ping sends three echo requests to 127.0.0.1 when ICMP sockets may be
// opened; without the permission the step is skipped, saying why.
func (d *demo) ping(ctx context.Context) (demoResult, error) {
	host := netip.MustParseAddr("127.0.0.1")
	res, err := icmp.Ping(ctx, icmp.PingConfig{
		Hosts: []netip.Addr{host}, Count: 3, Interval: 200 * time.Millisecond, Timeout: 2 * time.Second,
		Logger: d.log,
		OnStart: func() {
			fmt.Fprintf(d.w, "  %s\n", report.PingHeader("127.0.0.1", host, 56))
		},
		OnEvent: func(ev icmp.PingEvent) { fmt.Fprintf(d.w, "  %s\n", report.FormatPingEvent(ev, false)) },
	})
	if errors.Is(err, icmp.ErrNoPermission) {
		return report.DemoPing{Skipped: "no permission for ICMP sockets (see above)"}, fmt.Errorf("%v: %w", err, errDemoSkipped)
	}
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	h := res.Hosts[0]
	if err := report.WritePingSummary(&indentWriter{w: d.w, prefix: "  "}, "127.0.0.1", h); err != nil {
		return nil, err
	}
	if h.Received == 0 {
		return nil, fmt.Errorf("no reply from 127.0.0.1 (%d requests sent)", h.Transmitted)
	}
	return report.DemoPing{Host: h}, nil
}

// indentWriter prefixes every line written through it, so the engines'
// renderers nest under the demo's step headings.
type indentWriter struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line: no prefix before the next byte
}

func (iw *indentWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if !iw.mid {
			if p[0] != '\n' {
				if _, err := io.WriteString(iw.w, iw.prefix); err != nil {
					return n, err
				}
			}
			iw.mid = true
		}
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
			iw.mid = false
		}
		m, err := iw.w.Write(line)
		n += m
		if err != nil {
			return n, err
		}
		p = p[len(line):]
	}
	return n, nil
}
