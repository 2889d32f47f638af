// Package clientmenu is what the options of "socklab client"'s menu do:
// check the services, fetch the page through the proxy, run a QoS test,
// the multi-client simulation, a ping and a traceroute, each an engine's
// run rendered by report onto the menu's writer.
package clientmenu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/socklab/socklab/internal/hostaddr"
	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/menu"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
)

// Config is the lab the menu works on.
type Config struct {
	Proxy   string        // the HTTP proxy's URL
	Server  *url.URL      // the web server, fetched through the proxy
	UDP     string        // the UDP echo / QoS reflector, host:port
	CSV     string        // file the QoS test appends to; "" none
	Timeout time.Duration // limit for connects, echoes and each request
	Logger  *slog.Logger  // the engines' logger; nil: slog.Default()
}

// New returns the actions for cfg; Close releases them.
func New(cfg Config) (*Actions, error) {
	proxyURL, err := load.ParseProxy(cfg.Proxy)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	page := *cfg.Server
	if page.Path == "" {
		page.Path = "/"
	}
	return &Actions{cfg: cfg, proxyAddr: hostPort(proxyURL), serverAddr: hostPort(cfg.Server), page: page.String()}, nil
}

// Menu is the actions as the menu takes them.
func (a *Actions) Menu() menu.Actions {
	return menu.Actions{
		Connectivity: a.connectivity,
		HTTPRequest:  a.httpRequest,
		QoS:          a.qosTest,
		MultiClient:  a.multiClient,
		Ping:         a.ping,
		Traceroute:   a.traceroute,
	}
}

// hostPort is the dial address of an http(s) URL, default port included.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// Actions wire the menu's options to the engines; Menu returns them as
// menu.Actions.
type Actions struct {
	cfg        Config
	proxyAddr  string
	serverAddr string
	page       string

	prober  *load.Prober        // kept between option 2 runs: one connection, as a browser
	history []*load.ProbeResult // option 2 results, for the time the cache saved
}

// Close releases the connection option 2 keeps.
func (a *Actions) Close() {
	if a.prober != nil {
		a.prober.Close()
	}
}

// connectivity is option 1: can we reach each service?
func (a *Actions) connectivity(ctx context.Context, w io.Writer) error {
	failed := 0
	for _, c := range []struct{ name, addr string }{{"proxy", a.proxyAddr}, {"server", a.serverAddr}} {
		d, err := load.CheckTCP(ctx, c.addr, a.cfg.Timeout)
		if err != nil {
			failed++
			fmt.Fprintf(w, "  tcp  %-6s %-21s FAILED (%s): %v\n", c.name, c.addr, load.ErrorKind(err), err)
			continue
		}
		fmt.Fprintf(w, "  tcp  %-6s %-21s ok, connect %s\n", c.name, c.addr, report.FormatMs(d))
	}
	rtt, h, err := load.CheckUDPEcho(ctx, a.cfg.UDP, a.cfg.Timeout)
	if err != nil {
		failed++
		fmt.Fprintf(w, "  udp  %-6s %-21s FAILED (%s): %v\n", "echo", a.cfg.UDP, load.ErrorKind(err), err)
	} else {
		kind := "plain echo"
		if h.IsReply() {
			kind = "QoS reflector"
		}
		fmt.Fprintf(w, "  udp  %-6s %-21s ok, round trip %s (%s)\n", "echo", a.cfg.UDP, report.FormatMs(rtt), kind)
	}
	if failed > 0 {
		return fmt.Errorf("%d of 3 checks failed", failed)
	}
	return nil
}

// httpRequest is option 2: one GET of the server's page through the proxy.
// The same connection is reused each time, so a repeat shows MISS, then HIT.
func (a *Actions) httpRequest(ctx context.Context, w io.Writer) error {
	if a.prober == nil {
		p, err := load.NewProber(load.ProbeConfig{URL: a.page, Proxy: a.cfg.Proxy, Timeout: a.cfg.Timeout})
		if err != nil {
			return err
		}
		a.prober = p
	}
	r, err := a.prober.Do(ctx, nil)
	if err != nil {
		return err
	}
	a.history = append(a.history, r)
	if err := report.WriteGetText(w, r, report.GetTextOptions{Number: len(a.history), Proxy: a.cfg.Proxy}); err != nil {
		return err
	}
	if load.IsCacheHit(r.Cache) {
		return report.WriteGetSaving(w, a.history)
	}
	return nil
}

// qosTest is option 3: a UDP QoS run against the relay, appended to the CSV.
func (a *Actions) qosTest(ctx context.Context, w io.Writer, p menu.QoSParams) error {
	fmt.Fprintf(w, "QoS test to %s: %d probes of %d bytes every %v\n", a.cfg.UDP, p.Count, p.Size, p.Interval)
	t, err := qos.New(qos.Config{Target: a.cfg.UDP, Count: int64(p.Count), Interval: p.Interval, Size: p.Size,
		ReportInterval: -1, Logger: a.cfg.Logger})
	if err != nil {
		return err
	}
	res, err := t.Run(ctx)
	if err != nil {
		return err
	}
	if err := report.WriteQoSText(w, res); err != nil {
		return err
	}
	if a.cfg.CSV != "" {
		if err := output.AppendQoSCSV(a.cfg.CSV, res); err != nil {
			return err
		}
		fmt.Fprintf(w, "appended to %s\n", a.cfg.CSV)
	}
	return nil
}

// multiClient is option 4: the seed's simulation, N clients through the
// proxy, ten requests each, with the per-client breakdown.
func (a *Actions) multiClient(ctx context.Context, w io.Writer, clients int) error {
	l, err := load.New(load.Config{Target: a.page, Proxy: a.cfg.Proxy, Clients: clients,
		Requests: int64(clients) * 10, Timeout: a.cfg.Timeout, Logger: a.cfg.Logger})
	if err != nil {
		return err
	}
	r, err := l.Run(ctx)
	if err != nil {
		return err
	}
	if err := report.WriteLoadText(w, r); err != nil {
		return err
	}
	if r.Successes == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// ping is option 5: four echo requests, rendered as "socklab ping" does.
func (a *Actions) ping(ctx context.Context, w io.Writer, host string) error {
	ip, err := hostaddr.Resolve(ctx, "ip", host)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, report.PingHeader(host, ip, 56))
	res, err := icmp.Ping(ctx, icmp.PingConfig{
		Hosts: []netip.Addr{ip}, Count: 4, Interval: 200 * time.Millisecond, Timeout: 2 * time.Second,
		Logger:  a.cfg.Logger,
		OnEvent: func(ev icmp.PingEvent) { fmt.Fprintln(w, report.FormatPingEvent(ev, false)) },
	})
	if err != nil {
		return fmt.Errorf("ping %s: %w", host, err)
	}
	for _, h := range res.Hosts {
		if err := report.WritePingSummary(w, host, h); err != nil {
			return err
		}
	}
	return nil
}

// traceroute is option 6: one line per hop, as "socklab traceroute -n".
func (a *Actions) traceroute(ctx context.Context, w io.Writer, host string) error {
	ip, err := hostaddr.Resolve(ctx, "ip", host)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "traceroute to %s (%s), 30 hops max\n", host, ip)
	_, err = icmp.Trace(ctx, icmp.TraceConfig{
		Target: ip, Wait: 2 * time.Second, Logger: a.cfg.Logger,
		OnHop: func(h icmp.Hop) { fmt.Fprintln(w, report.FormatHop(h, true)) },
	})
	if err != nil {
		return fmt.Errorf("traceroute %s: %w", host, err)
	}
	return nil
}
