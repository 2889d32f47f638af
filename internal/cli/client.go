package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/menu"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/qos"
	"github.com/socklab/socklab/internal/report"
)

// clientOptions are the flags of "socklab client".
type clientOptions struct {
	proxy   string
	server  string
	udp     string
	csv     string
	timeout time.Duration
}

func newClientCmd(e *env) *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Interactive menu: HTTP through the proxy, QoS test, multi-client, ping, traceroute",
		Long: `The interactive client: a numbered menu that drives the same engines as the
scriptable commands.

  1) connectivity check       TCP connect to the proxy and the web server, one UDP echo round trip
  2) HTTP request via proxy   GET the server's / through the proxy: MISS first, HIT when repeated
  3) UDP QoS test             asks probes, interval and size; appends a row to --csv
  4) multi-client simulation  concurrent clients through the proxy (5 by default)
  5) ping                     ICMP echo to a host (the server's by default)
  6) traceroute               path to a host
  0) exit

The targets default to the SPEC's ports, so "socklab serve", "socklab proxy"
and "socklab client" with no flags work together. It reads choices line by
line, so it can be scripted: printf '2\n0\n' | socklab client. End of input
exits cleanly.`,
		Example: `  socklab client
  printf '1\n2\n2\n0\n' | socklab client
  socklab client --proxy http://10.0.0.2:8080 --server http://10.0.0.3:8000 --udp 10.0.0.2:9090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClient(cmd.Context(), e, &o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.proxy, "proxy", "http://127.0.0.1:8080", "HTTP proxy URL")
	f.StringVar(&o.server, "server", "http://127.0.0.1:8000", "web server URL (fetched through the proxy)")
	f.StringVar(&o.udp, "udp", "127.0.0.1:9090", "UDP echo / QoS reflector address (the proxy's relay by default)")
	f.StringVar(&o.csv, "csv", "qos_result.csv", `CSV file the QoS test appends to ("" for none)`)
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "limit for connects, echoes and each HTTP request")
	return cmd
}

func runClient(ctx context.Context, e *env, o *clientOptions) error {
	proxyURL, err := load.ParseProxy(o.proxy)
	if err != nil {
		return usageErrf("--proxy: %v", err)
	}
	serverURL, err := url.Parse(o.server)
	if err != nil || (serverURL.Scheme != "http" && serverURL.Scheme != "https") || serverURL.Host == "" {
		return usageErrf("--server %q: want http://host:port", o.server)
	}
	if _, _, err := net.SplitHostPort(o.udp); err != nil {
		return usageErrf("--udp %q: want host:port", o.udp)
	}
	page := *serverURL
	if page.Path == "" {
		page.Path = "/"
	}
	a := &clientActions{
		e: e, o: o,
		proxyAddr:  hostPort(proxyURL),
		serverAddr: hostPort(serverURL),
		page:       page.String(),
	}
	defer a.close()
	m := menu.New(menu.Config{
		In:     e.stdin,
		Out:    e.stdout,
		Banner: fmt.Sprintf("socklab client: proxy %s, server %s, udp %s", o.proxy, o.server, o.udp),
		Actions: menu.Actions{
			Connectivity: a.connectivity,
			HTTPRequest:  a.httpRequest,
			QoS:          a.qosTest,
			MultiClient:  a.multiClient,
			Ping:         a.ping,
			Traceroute:   a.traceroute,
		},
		Host: serverURL.Hostname(),
	})
	return m.Run(ctx)
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

// clientActions wires the menu's options to the engines.
type clientActions struct {
	e          *env
	o          *clientOptions
	proxyAddr  string
	serverAddr string
	page       string

	prober  *load.Prober        // kept between option 2 runs: one connection, as a browser
	history []*load.ProbeResult // option 2 results, for the time the cache saved
}

func (a *clientActions) close() {
	if a.prober != nil {
		a.prober.Close()
	}
}

// connectivity is option 1: can we reach each service?
func (a *clientActions) connectivity(ctx context.Context, w io.Writer) error {
	failed := 0
	for _, c := range []struct{ name, addr string }{{"proxy", a.proxyAddr}, {"server", a.serverAddr}} {
		d, err := load.CheckTCP(ctx, c.addr, a.o.timeout)
		if err != nil {
			failed++
			fmt.Fprintf(w, "  tcp  %-6s %-21s FAILED (%s): %v\n", c.name, c.addr, load.ErrorKind(err), err)
			continue
		}
		fmt.Fprintf(w, "  tcp  %-6s %-21s ok, connect %s\n", c.name, c.addr, report.FormatMs(d))
	}
	rtt, h, err := load.CheckUDPEcho(ctx, a.o.udp, a.o.timeout)
	if err != nil {
		failed++
		fmt.Fprintf(w, "  udp  %-6s %-21s FAILED (%s): %v\n", "echo", a.o.udp, load.ErrorKind(err), err)
	} else {
		kind := "plain echo"
		if h.IsReply() {
			kind = "QoS reflector"
		}
		fmt.Fprintf(w, "  udp  %-6s %-21s ok, round trip %s (%s)\n", "echo", a.o.udp, report.FormatMs(rtt), kind)
	}
	if failed > 0 {
		return fmt.Errorf("%d of 3 checks failed", failed)
	}
	return nil
}

// httpRequest is option 2: one GET of the server's page through the proxy.
// The same connection is reused each time, so a repeat shows MISS, then HIT.
func (a *clientActions) httpRequest(ctx context.Context, w io.Writer) error {
	if a.prober == nil {
		p, err := load.NewProber(load.ProbeConfig{URL: a.page, Proxy: a.o.proxy, Timeout: a.o.timeout})
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
	if err := report.WriteGetText(w, r, report.GetTextOptions{Number: len(a.history), Proxy: a.o.proxy}); err != nil {
		return err
	}
	if load.IsCacheHit(r.Cache) {
		return report.WriteGetSaving(w, a.history)
	}
	return nil
}

// qosTest is option 3: a UDP QoS run against the relay, appended to the CSV.
func (a *clientActions) qosTest(ctx context.Context, w io.Writer, p menu.QoSParams) error {
	fmt.Fprintf(w, "QoS test to %s: %d probes of %d bytes every %v\n", a.o.udp, p.Count, p.Size, p.Interval)
	t, err := qos.New(qos.Config{Target: a.o.udp, Count: int64(p.Count), Interval: p.Interval, Size: p.Size,
		ReportInterval: -1, Logger: a.e.logger(a.e.stderr)})
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
	if a.o.csv != "" {
		if err := output.AppendQoSCSV(a.o.csv, res); err != nil {
			return err
		}
		fmt.Fprintf(w, "appended to %s\n", a.o.csv)
	}
	return nil
}

// multiClient is option 4: the seed's simulation, N clients through the
// proxy, ten requests each, with the per-client breakdown.
func (a *clientActions) multiClient(ctx context.Context, w io.Writer, clients int) error {
	l, err := load.New(load.Config{Target: a.page, Proxy: a.o.proxy, Clients: clients,
		Requests: int64(clients) * 10, Timeout: a.o.timeout, Logger: a.e.logger(a.e.stderr)})
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
func (a *clientActions) ping(ctx context.Context, w io.Writer, host string) error {
	ip, err := resolveHost(ctx, "ip", host)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, report.PingHeader(host, ip, 56))
	res, err := icmp.Ping(ctx, icmp.PingConfig{
		Hosts: []netip.Addr{ip}, Count: 4, Interval: 200 * time.Millisecond, Timeout: 2 * time.Second,
		Logger:  a.e.logger(a.e.stderr),
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
func (a *clientActions) traceroute(ctx context.Context, w io.Writer, host string) error {
	ip, err := resolveHost(ctx, "ip", host)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "traceroute to %s (%s), 30 hops max\n", host, ip)
	_, err = icmp.Trace(ctx, icmp.TraceConfig{
		Target: ip, Wait: 2 * time.Second, Logger: a.e.logger(a.e.stderr),
		OnHop: func(h icmp.Hop) { fmt.Fprintln(w, report.FormatHop(h, true)) },
	})
	if err != nil {
		return fmt.Errorf("traceroute %s: %w", host, err)
	}
	return nil
}
