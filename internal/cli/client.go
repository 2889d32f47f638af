package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/clientmenu"
	"github.com/socklab/socklab/internal/load"
	"github.com/socklab/socklab/internal/menu"
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
		Short: "Interactive menu: connectivity, HTTP through the proxy, QoS test, multi-client, ping, traceroute",
		Long: `The interactive client: a numbered menu that drives the same engines as the
scriptable commands.

  1) connectivity check              TCP connect to the proxy and the web server, one UDP echo round trip
  2) HTTP request through the proxy  GET the server's / through the proxy: MISS first, HIT when repeated
  3) UDP QoS test                    asks probes, interval (a bare number is ms) and size; appends a row to --csv
  4) multi-client simulation         concurrent clients through the proxy (5 by default), ten requests each
  5) ping                            four ICMP echoes to a host (the server's by default)
  6) traceroute                      path to a host
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
	if _, err := load.ParseProxy(o.proxy); err != nil {
		return usageErrf("--proxy: %v", err)
	}
	serverURL, err := url.Parse(o.server)
	if err != nil || (serverURL.Scheme != "http" && serverURL.Scheme != "https") || serverURL.Host == "" {
		return usageErrf("--server %q: want http://host:port", o.server)
	}
	if _, _, err := net.SplitHostPort(o.udp); err != nil {
		return usageErrf("--udp %q: want host:port", o.udp)
	}
	a, err := clientmenu.New(clientmenu.Config{Proxy: o.proxy, Server: serverURL, UDP: o.udp, CSV: o.csv, Timeout: o.timeout, Logger: e.logger(e.stderr)})
	if err != nil {
		return usageErrf("--proxy: %v", err)
	}
	defer a.Close()
	m := menu.New(menu.Config{
		In:      e.stdin,
		Out:     e.stdout,
		Banner:  fmt.Sprintf("socklab client: proxy %s, server %s, udp %s", o.proxy, o.server, o.udp),
		Actions: a.Menu(),
		Host:    serverURL.Hostname(),
	})
	return m.Run(ctx)
}
