// Package demo runs the whole lab in one process, step by step, telling
// what each step does: serve and proxy (built by package stack from the
// configs cli gives), a cache hit through the proxy, a QoS test through
// the impairing relay, the multi-client simulation, a ping. Each step
// returns what it found as values (report.DemoServe, DemoCache, ...), which
// the summary table shows and tests read.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socklab/socklab/internal/impair"
	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/stack"
	"github.com/socklab/socklab/internal/udprelay"
)

// Config is one demo run.
type Config struct {
	// Serve and Proxy are "socklab serve" and "socklab proxy" as their
	// commands would build them (on free loopback ports): the demo points
	// the proxy at serve, sets the relay's impairment and taps its access
	// log, so a new setting of either reaches the demo.
	Serve stack.ServeConfig
	Proxy stack.ProxyConfig

	Dir         string        // existing folder for qos_result.csv and qos_report.html
	QoSDuration time.Duration // length of the QoS test
	Clients     int           // clients in the multi-client simulation
	Requests    int64         // requests in the simulation, over all clients
	Seed        uint64        // seed of the relay's impairment (0: a random one)
	Keep        bool          // leave the servers up after the steps, until ctx ends

	Out    io.Writer    // the story and the summary
	Stderr io.Writer    // the proxy's access log while Keep holds the servers
	Logger *slog.Logger // nil: slog.Default()
}

// The demo's QoS test paces probes like "socklab qos" does by default.
const qosInterval = 10 * time.Millisecond

// stepTimeout bounds each HTTP request of the demo: on loopback a
// request that takes this long means something is broken.
const stepTimeout = 10 * time.Second

// demoImpairment is the mild impairment the relay applies to the QoS test,
// announced before the test so its figures can be read against it. It
// applies in each direction, like a symmetric link.
func demoImpairment(base impair.Config, seed uint64) impair.Config {
	if seed == 0 {
		seed = rand.Uint64()
	}
	base.Delay, base.Jitter, base.Loss, base.Seed = 10*time.Millisecond, time.Millisecond, 0.01, seed
	return base
}

// Demo is one run: the servers it started and what each step found, for
// the summary.
type Demo struct {
	cfg Config
	w   io.Writer
	log *slog.Logger

	servers *servers
	step    int
	Results []Result          // what each step that ran found
	Summary []report.DemoStep // step, status, result
}

// New returns a demo for cfg; Run runs it and Stop stops its servers.
func New(cfg Config) *Demo {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Demo{cfg: cfg, w: cfg.Out, log: log}
}

// Stop stops the servers the steps started, if any, and says so.
func (d *Demo) Stop() error {
	if d.servers == nil {
		return nil
	}
	err := d.servers.stop()
	fmt.Fprintln(d.w, "servers stopped.")
	if err != nil {
		return fmt.Errorf("demo: stopping the servers: %w", err)
	}
	return nil
}

// step is one numbered step: what it does, and the function doing it.
// run returns what the step found, or errSkipped wrapped with the
// reason.
type step struct {
	name string
	what string
	run  func(ctx context.Context) (Result, error)
}

// errSkipped marks a step that could not run here, for a reason that is
// no failure of socklab (ICMP sockets not allowed, say).
var errSkipped = errors.New("skipped")

// Run runs the steps in order, stopping at the first that fails, prints
// the summary and, with Keep, holds the servers until ctx ends.
func (d *Demo) Run(ctx context.Context) error {
	steps := []step{
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
			d.Results = append(d.Results, res)
		}
		switch {
		case err == nil:
			d.Summary = append(d.Summary, report.DemoStep{Name: s.name, Status: "ok", Result: res.Summary()})
		case errors.Is(err, errSkipped) && ctx.Err() == nil:
			fmt.Fprintf(d.w, "  skipped: %s\n", strings.TrimSuffix(err.Error(), ": "+errSkipped.Error()))
			d.Summary = append(d.Summary, report.DemoStep{Name: s.name, Status: "skipped", Result: res.Summary()})
		case ctx.Err() != nil:
			fmt.Fprintf(d.w, "  interrupted (%v): stopping\n", context.Cause(ctx))
			d.Summary = append(d.Summary, report.DemoStep{Name: s.name, Status: "interrupted"})
			d.printSummary()
			return fmt.Errorf("demo: interrupted during step %d (%s)", d.step, s.name)
		default:
			fmt.Fprintf(d.w, "  FAILED: %v\n", err)
			d.Summary = append(d.Summary, report.DemoStep{Name: s.name, Status: "FAILED", Result: err.Error()})
			d.printSummary()
			return fmt.Errorf("demo: step %d (%s) failed: %w", d.step, s.name, err)
		}
	}
	d.printSummary()
	if d.cfg.Keep {
		d.keep(ctx)
	}
	return nil
}

func (d *Demo) printSummary() { _ = report.WriteDemoSummary(d.w, d.Summary) }

// Result is what one step found, as values (report.DemoServe,
// DemoProxy, DemoCache, DemoQoS, DemoLoad, DemoPing): the summary table
// shows Summary, tests read the fields.
type Result interface{ Summary() string }

// keep leaves the servers up until ctx ends, showing the proxy's access log
// so what a browser does can be followed.
func (d *Demo) keep(ctx context.Context) {
	s := d.servers
	_ = report.WriteDemoKeep(d.w, report.DemoServe{WebURL: s.webURL, EchoAddr: s.echoAddr},
		report.DemoProxy{ProxyURL: s.proxyURL, RelayAddr: s.relayAddr})
	s.showAccess(d.cfg.Stderr)
	<-ctx.Done()
	fmt.Fprintln(d.w)
}

// servers are the services the demo runs in-process: the stacks
// "socklab serve" and "socklab proxy" build, under one supervisor.
type servers struct {
	webURL, echoAddr    string // serve
	proxyURL, relayAddr string // proxy

	g     *stack.Group
	relay *udprelay.Relay

	// The proxy's access log goes to the fetch step (capture) or, with
	// Keep, to Stderr (show).
	access  chan proxy.AccessEntry
	capture atomic.Bool
	show    atomic.Pointer[io.Writer]
	showMu  sync.Mutex
}

// newServers returns an empty set of services. They run under a
// context of their own, detached from the steps' (values kept), so they
// outlive each step and stop only in stop.
func newServers(parent context.Context) *servers {
	return &servers{g: stack.NewGroup(context.WithoutCancel(parent)), access: make(chan proxy.AccessEntry, 8)}
}

// stop cancels every service, waits for them to finish and returns their
// errors.
func (s *servers) stop() error { return s.g.Stop() }

func (s *servers) accessLog(a proxy.AccessEntry) {
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

func (s *servers) showAccess(w io.Writer) { s.show.Store(&w) }
