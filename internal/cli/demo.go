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

// demoResult is what one step found, as values: the summary table shows
// Summary, tests read the fields.
type demoResult interface{ Summary() string }

type demoServe struct{ WebURL, EchoAddr string }

func (r demoServe) Summary() string { return fmt.Sprintf("%s/, udp %s", r.WebURL, r.EchoAddr) }

type demoProxy struct {
	ProxyURL, RelayAddr string
	Impairment          impair.Config
}

func (r demoProxy) Summary() string {
	return fmt.Sprintf("%s, relay %s (%s, seed %d)", r.ProxyURL, r.RelayAddr, describeDemoImpairment(r.Impairment), r.Impairment.Seed)
}

// demoCache is the two fetches: their cache verdicts and total times.
type demoCache struct {
	Verdicts  [2]string
	Miss, Hit time.Duration
}

func (r demoCache) Saved() time.Duration { return r.Miss - r.Hit }

func (r demoCache) hitName() string {
	if r.Verdicts[1] == load.CacheRevalidated {
		return "HIT (revalidated)"
	}
	return "HIT"
}

func (r demoCache) Summary() string {
	line := fmt.Sprintf("MISS %s, then %s %s", report.FormatMs(r.Miss), r.hitName(), report.FormatMs(r.Hit))
	if r.Saved() > 0 {
		line += ": " + report.FormatMs(r.Saved()) + " saved"
	}
	return line
}

type demoQoS struct {
	Result    *qos.Result
	CSV, HTML string // the files written
}

func (r demoQoS) Summary() string {
	tot := r.Result.Total
	return fmt.Sprintf("%d sent, %d received, %.2f%% lost; RTT avg %s p95 %s; jitter %s; %s, %s",
		tot.Sent, tot.Received, tot.LossPct, report.FormatMs(tot.RTT.Avg), report.FormatMs(tot.RTT.P95), report.FormatMs(tot.JitterUp),
		filepath.Base(r.CSV), filepath.Base(r.HTML))
}

type demoLoad struct{ Result *load.Result }

func (r demoLoad) Summary() string {
	l := r.Result
	line := fmt.Sprintf("%d requests by %d clients, %d errors, %.0f req/s, p50 %.3f ms, p99 %.3f ms",
		l.Requests, l.Clients, l.Failures, l.RequestsPerSec, l.Latency.P50, l.Latency.P99)
	if c := l.Cache; c != nil {
		line += fmt.Sprintf(", %.0f%% cache hits", c.HitRatio*100)
	}
	return line
}

type demoPing struct {
	Host    icmp.HostResult
	Skipped string // why the step could not run, "" when it did
}

func (r demoPing) Summary() string {
	if r.Skipped != "" {
		return r.Skipped
	}
	return fmt.Sprintf("%d/%d replies, RTT avg %s ms", r.Host.Received, r.Host.Transmitted, report.MsMicros(r.Host.RTT.Mean()))
}

// keep leaves the servers up until ctx ends, showing the proxy's access log
// so what a browser does can be followed.
func (d *demo) keep(ctx context.Context) {
	s := d.servers
	fmt.Fprintln(d.w, "\nThe servers keep running (--keep). Open in a browser:")
	fmt.Fprintf(d.w, "  %s  the site through the caching proxy (its log follows on stderr)\n", s.proxyURL+"/")
	fmt.Fprintf(d.w, "  %s  the site straight from serve\n", s.webURL+"/")
	fmt.Fprintf(d.w, "and try: socklab qos %s   socklab get -n 2 --proxy %s %s/\n", s.relayAddr, s.proxyURL, s.webURL)
	fmt.Fprintf(d.w, "UDP: reflector %s, impairing relay %s. Press Ctrl-C to stop.\n", s.echoAddr, s.relayAddr)
	s.showAccess(d.e.stderr)
	<-ctx.Done()
	fmt.Fprintln(d.w)
}

// demoServers are the services the demo runs in-process: the stacks
// "socklab serve" and "socklab proxy" build, under one supervisor.
type demoServers struct {
	webURL, echoAddr    string // serve
	proxyURL, relayAddr string // proxy

	g     *group
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
	return &demoServers{g: newGroup(context.WithoutCancel(parent)), access: make(chan proxy.AccessEntry, 8)}
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
	st, err := buildServe(WithOnListen(s.g.ctx, onListenOf(ctx)), d.e, demoServeFlags(), d.log)
	if err != nil {
		return nil, err
	}
	st.start(s.g)
	s.webURL, s.echoAddr = st.URL, st.UDPAddr()
	fmt.Fprintf(d.w, "  web server      %s/  (GET the embedded site: an index, two pages, a stylesheet, an image)\n", s.webURL)
	fmt.Fprintf(d.w, "  UDP reflector   %s  (echoes datagrams; stamps socklab QoS probes)\n", s.echoAddr)
	return demoServe{WebURL: s.webURL, EchoAddr: s.echoAddr}, nil
}

func (d *demo) startProxy(ctx context.Context) (demoResult, error) {
	s := d.servers
	imp := demoImpairment(d.o.seed)
	f := demoProxyFlags(s.webURL, s.echoAddr, imp)
	st, err := buildProxy(WithOnListen(s.g.ctx, onListenOf(ctx)), d.e, f, d.log, proxyHooks{AccessLog: s.accessLog, NoStreamImpair: true})
	if err != nil {
		return nil, err
	}
	st.start(s.g)
	s.proxyURL, s.relayAddr, s.relay = st.URL, st.relay.Addr, st.relay.Relay
	imps := describeDemoImpairment(imp)
	fmt.Fprintf(d.w, "  caching proxy   %s  → serve %s  (RFC 9111 cache in memory; marks responses X-Cache and Cache-Status)\n", s.proxyURL, s.webURL)
	fmt.Fprintf(d.w, "  UDP relay       %s  → reflector %s\n", s.relayAddr, s.echoAddr)
	fmt.Fprintf(d.w, "  impairment      %s on the UDP relay, in each direction (seed %d); a round trip\n", imps, imp.Seed)
	fmt.Fprintf(d.w, "                  crosses it twice: expect RTT ≈ %s and ≈ %.0f%% loss in the QoS test\n",
		2*imp.Delay, 100*(1-(1-imp.Loss)*(1-imp.Loss)))
	fmt.Fprintln(d.w, "\n  The path (\"socklab serve\" and \"socklab proxy\" build the same on ports 8000/9000 and 8080/9090):")
	fmt.Fprintf(d.w, "    this demo ──TCP──▶ proxy %s ──TCP──▶ serve %s\n", hostOf(s.proxyURL), hostOf(s.webURL))
	fmt.Fprintf(d.w, "              ──UDP──▶ relay %s ──UDP──▶ reflector %s\n", s.relayAddr, s.echoAddr)
	return demoProxy{ProxyURL: s.proxyURL, RelayAddr: s.relayAddr, Impairment: imp}, nil
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// describeDemoImpairment is the announced impairment: "delay 10ms ±1ms, loss 1%".
func describeDemoImpairment(c impair.Config) string {
	return fmt.Sprintf("delay %v ±%v, loss %g%%", c.Delay, c.Jitter, c.Loss*100)
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
		fmt.Fprintf(d.w, "           → %s\n", explainVerdict(r))
	}
	if rs[0].Cache != load.CacheMiss || !load.IsCacheHit(rs[1].Cache) {
		return nil, fmt.Errorf("expected a MISS then a cache hit, got %q then %q", rs[0].Cache, rs[1].Cache)
	}
	miss, hit := rs[0].Timing.Total, rs[1].Timing.Total
	c := demoCache{Verdicts: [2]string{rs[0].Cache, rs[1].Cache}, Miss: miss, Hit: hit}
	if saved := c.Saved(); saved > 0 {
		fmt.Fprintf(d.w, "  the cache saved %s: MISS %s, then %s %s (%.0f%% faster; the MISS also paid for the connection)\n",
			report.FormatMs(saved), report.FormatMs(miss), c.hitName(), report.FormatMs(hit), 100*float64(saved)/float64(miss))
	} else {
		fmt.Fprintf(d.w, "  no time saved this run: MISS %s, then %s %s (on loopback the origin is as near as the cache)\n",
			report.FormatMs(miss), c.hitName(), report.FormatMs(hit))
	}
	return c, nil
}

// explainVerdict says in words what the proxy did for one response.
func explainVerdict(r *load.ProbeResult) string {
	switch r.Cache {
	case load.CacheMiss:
		return "MISS: the proxy had no copy; it fetched the page from serve and stored it"
	case load.CacheHit:
		return "HIT: served from the proxy's cache; serve was not asked"
	case load.CacheRevalidated:
		why := "the stored copy was stale"
		if r.Header.Get("Cache-Control") == "" && r.Header.Get("Last-Modified") == "" {
			why = "serve sends\n" +
				"             an ETag but no Cache-Control or Last-Modified, so the stored copy has no\n" +
				"             freshness lifetime and is stale at once (RFC 9111 §4.2)"
		}
		return "HIT (revalidated): served from the cache after a check with serve: " + why + ";\n" +
			"             the proxy asked serve \"still this ETag?\" (If-None-Match), serve answered\n" +
			"             304 Not Modified, and the body came from the cache (RFC 9111 §4.3)"
	}
	return fmt.Sprintf("no cache verdict (%q)", r.Cache)
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
	return demoQoS{Result: res, CSV: csvPath, HTML: htmlPath}, nil
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
		return demoLoad{r}, fmt.Errorf("%d of %d requests failed (%s)", r.Failures, r.Requests, strings.Join(r.SortedErrors(), ", "))
	}
	return demoLoad{r}, nil
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
		return demoPing{Skipped: "no permission for ICMP sockets (see above)"}, fmt.Errorf("%v: %w", err, errDemoSkipped)
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
	return demoPing{Host: h}, nil
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
