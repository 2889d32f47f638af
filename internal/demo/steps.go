package demo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/proxy"
	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
	"github.com/socklab/socklab/internal/stack"
)

func (d *Demo) startServe(ctx context.Context) (Result, error) {
	s := newServers(ctx)
	d.servers = s
	st, err := stack.BuildServe(stack.WithOnListen(s.g.Context(), stack.OnListenOf(ctx)), d.cfg.Serve)
	if err != nil {
		return nil, err
	}
	st.Start(s.g)
	s.webURL, s.echoAddr = st.URL, st.UDPAddr()
	r := report.DemoServe{WebURL: s.webURL, EchoAddr: s.echoAddr}
	return r, r.Write(d.w)
}

func (d *Demo) startProxy(ctx context.Context) (Result, error) {
	s := d.servers
	cfg := d.cfg.Proxy
	imp := demoImpairment(cfg.Relay.Impair, d.cfg.Seed)
	upstream, err := url.Parse(s.webURL)
	if err != nil {
		return nil, err
	}
	cfg.Proxy.Upstream, cfg.Relay.Upstream, cfg.Relay.Impair = upstream, s.echoAddr, imp
	cfg.OnAccess, cfg.NoStreamImpair = s.accessLog, true
	st, err := stack.BuildProxy(stack.WithOnListen(s.g.Context(), stack.OnListenOf(ctx)), cfg)
	if err != nil {
		return nil, err
	}
	st.Start(s.g)
	s.proxyURL, s.relayAddr, s.relay = st.URL, st.Relay.Addr, st.Relay.Relay
	r := report.DemoProxy{ProxyURL: s.proxyURL, RelayAddr: s.relayAddr, WebURL: s.webURL, EchoAddr: s.echoAddr, Impairment: imp}
	return r, r.Write(d.w)
}

// fetchTwice shows the cache at work: the first request is a MISS, the
// repeat is served from the cache.
func (d *Demo) fetchTwice(ctx context.Context) (Result, error) {
	s := d.servers
	page := s.webURL + "/"
	fmt.Fprintf(d.w, "  GET %s via the proxy %s, twice on one connection, as a browser would\n", page, s.proxyURL)
	p, err := load.NewProber(load.ProbeConfig{URL: page, Proxy: s.proxyURL, Timeout: stepTimeout})
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
func (d *Demo) qosTest(ctx context.Context) (Result, error) {
	s := d.servers
	fmt.Fprintf(d.w, "  64-byte probes every %v for %v to the relay %s; it impairs them and forwards\n", qosInterval, d.cfg.QoSDuration, s.relayAddr)
	fmt.Fprintf(d.w, "  them to the reflector %s, which stamps them and sends them back the same way\n", s.echoAddr)
	iw := &indentWriter{w: d.w, prefix: "  "}
	header := false
	t, err := qos.New(qos.Config{
		Target: s.relayAddr, Interval: qosInterval, Duration: d.cfg.QoSDuration,
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
	csvPath := filepath.Join(d.cfg.Dir, "qos_result.csv")
	if err := output.AppendQoSCSV(csvPath, res); err != nil {
		return nil, err
	}
	htmlPath := filepath.Join(d.cfg.Dir, "qos_report.html")
	if err := output.WriteQoSReport(htmlPath, res); err != nil {
		return nil, err
	}
	fmt.Fprintf(d.w, "  appended a row to %s\n", csvPath)
	fmt.Fprintf(d.w, "  wrote %s (open it in a browser: RTT over time, histogram, jitter)\n", htmlPath)
	return report.DemoQoS{Result: res, CSV: csvPath, HTML: htmlPath}, nil
}

// loadTest runs the seed's multi-client simulation through the proxy.
func (d *Demo) loadTest(ctx context.Context) (Result, error) {
	s := d.servers
	page := s.webURL + "/"
	fmt.Fprintf(d.w, "  %d clients, each on its own connection, send %d GETs of %s through the proxy;\n", d.cfg.Clients, d.cfg.Requests, page)
	fmt.Fprintln(d.w, "  each sends its next request as soon as its last one is answered (closed loop)")
	l, err := load.New(load.Config{Target: page, Proxy: s.proxyURL, Clients: d.cfg.Clients, Requests: d.cfg.Requests,
		Timeout: stepTimeout, Logger: d.log})
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
func (d *Demo) ping(ctx context.Context) (Result, error) {
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
		return report.DemoPing{Skipped: "no permission for ICMP sockets (see above)"}, fmt.Errorf("%v: %w", err, errSkipped)
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
