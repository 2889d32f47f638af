package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/flagx"
	"github.com/socklab/socklab/internal/hostaddr"
	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/report"
)

// tracerouteOptions are the flags of "socklab traceroute", named as
// traceroute 2.1's.
type tracerouteOptions struct {
	v4, v6    bool
	queries   int
	maxHops   int
	firstHop  int
	wait      string
	inFlight  int
	protocol  string
	icmpProbe bool
	tcpProbe  bool
	port      int
	numeric   bool
	flows     int
	json      bool
	paris     bool
	udpFixed  bool
}

func newTracerouteCmd(e *env) *cobra.Command {
	var o tracerouteOptions
	cmd := &cobra.Command{
		Use:   "traceroute [flags] HOST",
		Short: "Show the routers on the path to a host (UDP, ICMP or TCP probes)",
		Long: `Send probes with increasing TTL / hop limit and print one line per hop with
the address that answered and each probe's round-trip time, as traceroute 2.1
does: "*" for no answer, !H !N !P !X for host, network, protocol or
administratively unreachable. The trace stops at the destination.

Probes are UDP by default, as traceroute 2.1's: to port 33434 (-p) and up, the
port stepped once per probe. -U sends UDP to one fixed port (default 53),
ICMP echo with -P icmp (or -I), TCP SYN to -p (default 80) with -P tcp (or
-T). Up to -N probes are out at once. With --paris (implied by ICMP, TCP, -U
and --flows), every probe of a trace keeps the header fields routers hash for
load balancing (addresses, protocol, ports, ICMP checksum), as Paris
traceroute does, so one path is measured; --flows N traces N flows side by
side, labels each answer with its flow (f1, f2...) and shows where their
paths split. Answers are matched through the header routers quote back.

Needs raw sockets: run as root or with CAP_NET_RAW.`,
		Example: `  socklab traceroute -n 127.0.0.1
  socklab traceroute --paris -n 127.0.0.1       # one flow: fixed UDP port
  socklab traceroute -P icmp -q 1 10.0.0.1
  socklab traceroute -P tcp -p 443 -6 2001:db8::1
  socklab traceroute --flows 4 -n 10.0.0.1     # multipath: alternative next hops per hop`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTraceroute(cmd.Context(), e, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.v4, "ipv4", "4", false, "use IPv4 only")
	f.BoolVarP(&o.v6, "ipv6", "6", false, "use IPv6 only")
	f.IntVarP(&o.queries, "queries", "q", 3, "probes per hop (per flow)")
	f.IntVarP(&o.maxHops, "max-hops", "m", 30, "largest TTL / hop limit probed")
	f.IntVarP(&o.firstHop, "first", "f", 1, "first TTL / hop limit probed")
	f.StringVarP(&o.wait, "wait", "w", "5,3,10", "MAX[,HERE,NEAR] as traceroute 2.1: wait at most MAX seconds for an answer, but only HERE times the round trip of an answer from the same hop, or NEAR times that of a later hop (0 turns either off)")
	f.IntVarP(&o.inFlight, "sim-queries", "N", 16, "probes out at the same time")
	f.StringVarP(&o.protocol, "protocol", "P", "udp", "probe protocol: udp, icmp or tcp")
	f.BoolVarP(&o.icmpProbe, "icmp", "I", false, "ICMP echo probes (same as -P icmp)")
	f.BoolVarP(&o.tcpProbe, "tcp", "T", false, "TCP SYN probes (same as -P tcp)")
	f.IntVarP(&o.port, "port", "p", 0, "destination port: UDP's first, stepped per probe unless --paris or -U (default 33434; 53 with -U; 80 for tcp)")
	f.BoolVar(&o.paris, "paris", false, "UDP: keep one flow, as Paris traceroute (a fixed port; the probe number rides in the length)")
	f.BoolVarP(&o.udpFixed, "udp", "U", false, "UDP to one fixed port (default 53), as traceroute 2.1's -U")
	f.BoolVarP(&o.numeric, "numeric", "n", false, "do not look up hop names")
	f.IntVar(&o.flows, "flows", 1, "flows traced side by side (multipath discovery)")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of text")
	return cmd
}

func (o *tracerouteOptions) config() (icmp.TraceConfig, error) {
	var cfg icmp.TraceConfig
	proto := o.protocol
	switch {
	case o.v4 && o.v6:
		return cfg, usageErrf("traceroute: -4 and -6 are mutually exclusive")
	case o.icmpProbe && o.tcpProbe:
		return cfg, usageErrf("traceroute: -I and -T are mutually exclusive")
	case o.icmpProbe:
		proto = "icmp"
	case o.tcpProbe:
		proto = "tcp"
	}
	if o.udpFixed && (o.icmpProbe || o.tcpProbe || proto != "udp") {
		return cfg, usageErrf("traceroute: -U is UDP; it does not go with -I, -T or -P %s", proto)
	}
	p, err := icmp.ParseTraceProtocol(proto)
	if err != nil {
		return cfg, usageErrf("traceroute: %v", err)
	}
	wait, here, near, err := flagx.TraceWait(o.wait)
	if err != nil {
		return cfg, err
	}
	if o.port < 0 || o.port > 65535 {
		return cfg, usageErrf("traceroute: port %d: out of range 1-65535", o.port)
	}
	cfg = icmp.TraceConfig{
		Protocol: p, Port: o.port, FirstTTL: o.firstHop, MaxTTL: o.maxHops, Queries: o.queries,
		Wait: seconds(wait), WaitHere: here, WaitNear: near, InFlight: o.inFlight, Flows: o.flows,
		StepPort: p == icmp.TraceUDP && !o.paris && !o.udpFixed && o.flows == 1,
	}
	if o.udpFixed && o.port == 0 {
		cfg.Port = 53
	}
	// Zero means "default" to the engine; on the command line it is a mistake.
	for _, v := range []struct {
		name string
		val  int
	}{{"-q", o.queries}, {"-m", o.maxHops}, {"-f", o.firstHop}, {"-N", o.inFlight}, {"--flows", o.flows}} {
		if v.val < 1 {
			return cfg, usageErrf("traceroute: %s %d: must be at least 1", v.name, v.val)
		}
	}
	return cfg, nil
}

func runTraceroute(ctx context.Context, e *env, o *tracerouteOptions, host string) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	addr, err := hostaddr.Resolve(ctx, hostaddr.Network(o.v4, o.v6), host)
	if err != nil {
		return usageErrf("traceroute: %v", err)
	}
	cfg.Target = addr
	cfg.Logger = e.logger(e.stderr)
	if !o.numeric {
		cfg.Resolve = hostaddr.ReverseName
	}
	if !o.json {
		cfg.OnHop = func(h icmp.Hop) { fmt.Fprintln(e.stdout, report.FormatHop(h, o.numeric)) }
	}
	tr, err := icmp.NewTracer(cfg)
	if err != nil {
		return err // an engine's config errors wrap errs.ErrInvalidConfig: exit 2
	}
	if !o.json {
		fmt.Fprintln(e.stdout, report.TraceHeader(host, addr, cfg.MaxTTL, tr.PacketLen()))
	}
	res, err := tr.Run(ctx)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(e.stdout, report.TraceJSON(host, res))
	}
	return nil
}
