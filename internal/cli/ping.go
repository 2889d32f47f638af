package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/hostaddr"
	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/report"
)

// pingOptions are the flags of "socklab ping", named as iputils ping's.
type pingOptions struct {
	v4, v6   bool
	count    int
	interval float64
	timeout  float64
	deadline float64
	size     int
	ttl      int
	pmtu     string
	quiet    bool
	stamps   bool
	numeric  bool
	json     bool
	iface    string
	countSet bool // -c given: 0 is refused, as iputils does
	ttlSet   bool
}

func newPingCmd(e *env) *cobra.Command {
	var o pingOptions
	cmd := &cobra.Command{
		Use:   "ping [flags] HOST...",
		Short: "Send ICMP echo requests (IPv4 and IPv6), iputils-style",
		Long: `Send ICMP echo requests to one or more hosts and print each reply as iputils
ping does, then a summary per host (packets transmitted, received, loss, time,
rtt min/avg/max/mdev). Several hosts are pinged side by side, sharing one
socket per address family.

Raw ICMP sockets are used when allowed (root or CAP_NET_RAW); otherwise
unprivileged ICMP datagram sockets, which net.ipv4.ping_group_range must allow.
Round-trip times use the kernel's receive timestamp when it gives one.

Ctrl-C stops and prints the summary. Exit status: 0 when any reply came, 1 when
none did, 2 on an error.`,
		Example: `  socklab ping -c 3 127.0.0.1
  socklab ping -6 -c 3 -i 0.2 ::1
  socklab ping -c 5 -t 2 10.0.0.1          # show which router the TTL runs out at
  socklab ping -c 10 -q --json 127.0.0.1 ::1 | jq '.hosts[].loss_pct'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.countSet, o.ttlSet = cmd.Flags().Changed("count"), cmd.Flags().Changed("ttl")
			return runPing(cmd.Context(), e, &o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.v4, "ipv4", "4", false, "use IPv4 only")
	f.BoolVarP(&o.v6, "ipv6", "6", false, "use IPv6 only")
	f.IntVarP(&o.count, "count", "c", 0, "stop after COUNT requests per host (default: until Ctrl-C)")
	f.Float64VarP(&o.interval, "interval", "i", 1, "seconds between requests (at least 0.002 unless root, as iputils)")
	f.Float64VarP(&o.timeout, "timeout", "W", 10, "seconds to wait for replies after the last request")
	f.Float64VarP(&o.deadline, "deadline", "w", 0, "stop after this many seconds whatever the count (0: none)")
	f.IntVarP(&o.size, "size", "s", 56, "data bytes per request (ICMP header not included)")
	f.IntVarP(&o.ttl, "ttl", "t", 0, "IP time to live / hop limit (default: the system's)")
	f.StringVarP(&o.pmtu, "pmtu", "M", "", "path MTU discovery: do (set DF, never fragment) or dont")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the header and the summary")
	f.BoolVarP(&o.stamps, "timestamps", "D", false, "prefix each line with a UNIX timestamp")
	f.BoolVarP(&o.numeric, "numeric", "n", false, "numeric output: accepted for compatibility; socklab never resolves reply addresses to names, with or without -n")
	f.StringVarP(&o.iface, "interface", "I", "", "send and receive through this interface (a name, or an address of one)")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of text")
	return cmd
}

func (o *pingOptions) config() (icmp.PingConfig, error) {
	var cfg icmp.PingConfig
	switch {
	case o.v4 && o.v6:
		return cfg, usageErrf("ping: -4 and -6 are mutually exclusive")
	case o.count < 0 || (o.countSet && o.count == 0):
		return cfg, usageErrf("ping: invalid argument: '%d': out of range: 1 <= value <= 9223372036854775807", o.count)
	case o.interval <= 0 || math.IsNaN(o.interval) || o.interval > 1e6:
		return cfg, usageErrf("ping: bad timing interval: %g", o.interval)
	case o.interval < 0.002 && os.Geteuid() != 0:
		return cfg, usageErrf("ping: cannot flood, minimal interval for user must be >= 2 ms, use -f as root")
	case o.timeout <= 0 || math.IsNaN(o.timeout) || o.timeout > 1e6:
		return cfg, usageErrf("ping: bad linger time: %g", o.timeout)
	case o.deadline < 0 || math.IsNaN(o.deadline) || o.deadline > 1e6:
		return cfg, usageErrf("ping: bad wait time: %g", o.deadline)
	case o.size < 0 || o.size > 65507:
		return cfg, usageErrf("ping: invalid -s value: %d: out of range: 0 <= value <= 65507", o.size)
	case o.ttl < 0 || o.ttl > 255 || (o.ttlSet && o.ttl == 0):
		return cfg, usageErrf("ping: invalid -t value: %d: out of range: 1 <= value <= 255", o.ttl)
	}
	cfg.Count = o.count
	cfg.Interval = seconds(o.interval)
	cfg.Timeout = seconds(o.timeout)
	cfg.Deadline = seconds(o.deadline)
	cfg.Size = o.size
	if o.size == 0 {
		cfg.Size = icmp.EmptyPayload
	}
	cfg.TTL = o.ttl
	if o.iface != "" {
		dev, err := hostaddr.Interface(o.iface)
		if err != nil {
			return cfg, usageErr(err)
		}
		cfg.Device = dev
	}
	switch o.pmtu {
	case "":
	case "do", "want", "probe":
		cfg.PMTU = icmp.PMTUDo
	case "dont":
		cfg.PMTU = icmp.PMTUDont
	default:
		return cfg, usageErrf("ping: invalid -M argument %q: want do or dont", o.pmtu)
	}
	return cfg, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// resolveHosts turns each argument into one address: literals as they are,
// names through the resolver, keeping the first address of the wanted family.
func resolveHosts(ctx context.Context, hosts []string, v4, v6 bool) ([]report.PingTarget, error) {
	var out []report.PingTarget
	for _, h := range hosts {
		addr, err := hostaddr.Resolve(ctx, hostaddr.Network(v4, v6), h)
		if err != nil {
			return nil, err
		}
		out = append(out, report.PingTarget{Name: h, Addr: addr})
	}
	return out, nil
}

func runPing(ctx context.Context, e *env, o *pingOptions, args []string) error {
	cfg, err := o.config()
	if err != nil {
		return err
	}
	targets, err := resolveHosts(ctx, args, o.v4, o.v6)
	if err != nil {
		return &exitError{code: ExitUsage, err: fmt.Errorf("ping: %w", err)}
	}
	for _, t := range targets {
		cfg.Hosts = append(cfg.Hosts, t.Addr)
	}
	cfg.Logger = e.logger(e.stderr)
	r := &output.PingEvents{Out: e.stdout, Err: e.stderr, Quiet: o.quiet || o.json, Stamps: o.stamps}
	cfg.OnEvent = r.Event
	var p *icmp.Pinger
	if !o.json {
		cfg.OnStart = func() {
			for _, t := range targets {
				fmt.Fprintln(e.stdout, report.PingHeader(t.Name, t.Addr, p.PayloadSize()))
			}
		}
	}
	p, err = icmp.NewPinger(cfg)
	if err != nil {
		return err // an engine's config errors wrap errs.ErrInvalidConfig: exit 2
	}
	res, err := p.Run(ctx)
	if err != nil {
		return &exitError{code: ExitUsage, err: err} // iputils exits 2 when it cannot ping at all
	}
	if o.json {
		if err := writeJSON(e.stdout, report.PingJSON(targets, res, r.Replies())); err != nil {
			return err
		}
	} else {
		for i, h := range res.Hosts {
			if err := report.WritePingSummary(e.stdout, targets[i].Name, h); err != nil {
				return err
			}
		}
	}
	for _, h := range res.Hosts {
		if h.Received > 0 {
			return nil
		}
	}
	return silentExit(ExitFailure)
}
