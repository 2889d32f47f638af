package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/icmp"
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
			return runPing(cmd.Context(), e, &o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.v4, "ipv4", "4", false, "use IPv4 only")
	f.BoolVarP(&o.v6, "ipv6", "6", false, "use IPv6 only")
	f.IntVarP(&o.count, "count", "c", 0, "stop after COUNT requests per host (default: until Ctrl-C)")
	f.Float64VarP(&o.interval, "interval", "i", 1, "seconds between requests (at least 0.2 unless root)")
	f.Float64VarP(&o.timeout, "timeout", "W", 10, "seconds to wait for replies after the last request")
	f.Float64VarP(&o.deadline, "deadline", "w", 0, "stop after this many seconds whatever the count (0: none)")
	f.IntVarP(&o.size, "size", "s", 56, "data bytes per request (ICMP header not included)")
	f.IntVarP(&o.ttl, "ttl", "t", 0, "IP time to live / hop limit (default: the system's)")
	f.StringVarP(&o.pmtu, "pmtu", "M", "", "path MTU discovery: do (set DF, never fragment) or dont")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only the header and the summary")
	f.BoolVarP(&o.stamps, "timestamps", "D", false, "prefix each line with a UNIX timestamp")
	f.BoolVarP(&o.numeric, "numeric", "n", false, "numeric output (accepted for compatibility; replies are always numeric)")
	f.BoolVar(&o.json, "json", false, "print one JSON document instead of text")
	return cmd
}

// pingTarget is one host as typed and the address it resolved to.
type pingTarget struct {
	name string
	addr netip.Addr
}

func (o *pingOptions) config() (icmp.PingConfig, error) {
	var cfg icmp.PingConfig
	switch {
	case o.v4 && o.v6:
		return cfg, usageErrf("ping: -4 and -6 are mutually exclusive")
	case o.count < 0:
		return cfg, usageErrf("ping: bad number of packets to transmit: %d", o.count)
	case o.interval <= 0 || math.IsNaN(o.interval) || o.interval > 1e6:
		return cfg, usageErrf("ping: bad timing interval: %g", o.interval)
	case o.interval < 0.2 && os.Geteuid() != 0:
		return cfg, usageErrf("ping: cannot flood; minimal interval allowed for user is 200ms")
	case o.timeout <= 0 || math.IsNaN(o.timeout) || o.timeout > 1e6:
		return cfg, usageErrf("ping: bad linger time: %g", o.timeout)
	case o.deadline < 0 || math.IsNaN(o.deadline) || o.deadline > 1e6:
		return cfg, usageErrf("ping: bad wait time: %g", o.deadline)
	case o.size < 0 || o.size > 65507:
		return cfg, usageErrf("ping: invalid -s value: %d: out of range: 0 <= value <= 65507", o.size)
	case o.ttl < 0 || o.ttl > 255:
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
func resolveHosts(ctx context.Context, hosts []string, v4, v6 bool) ([]pingTarget, error) {
	network := "ip"
	switch {
	case v4:
		network = "ip4"
	case v6:
		network = "ip6"
	}
	var out []pingTarget
	for _, h := range hosts {
		addr, err := resolvePingHost(ctx, network, h)
		if err != nil {
			return nil, err
		}
		out = append(out, pingTarget{name: h, addr: addr})
	}
	return out, nil
}

func resolvePingHost(ctx context.Context, network, host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		a = a.Unmap()
		if (network == "ip4" && !a.Is4()) || (network == "ip6" && !a.Is6()) {
			return netip.Addr{}, fmt.Errorf("%s: address family for hostname not supported", host)
		}
		return a, nil
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(rctx, network, host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%s: Name or service not known", host)
	}
	return addrs[0].Unmap(), nil
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
		cfg.Hosts = append(cfg.Hosts, t.addr)
	}
	cfg.Logger = e.logger(e.stderr)
	r := &pingRenderer{w: e.stdout, quiet: o.quiet || o.json, stamps: o.stamps}
	cfg.OnEvent = r.event
	var p *icmp.Pinger
	if !o.json {
		cfg.OnStart = func() {
			for _, t := range targets {
				fmt.Fprintln(e.stdout, pingHeader(t.name, t.addr, p.PayloadSize()))
			}
		}
	}
	p, err = icmp.NewPinger(cfg)
	if err != nil {
		return usageErr(err)
	}
	res, err := p.Run(ctx)
	if err != nil {
		return &exitError{code: ExitUsage, err: err} // iputils exits 2 when it cannot ping at all
	}
	if o.json {
		if err := writeJSON(e.stdout, pingJSON(targets, res, r.replies())); err != nil {
			return err
		}
	} else {
		for i, h := range res.Hosts {
			writePingSummary(e.stdout, targets[i].name, h)
		}
	}
	for _, h := range res.Hosts {
		if h.Received > 0 {
			return nil
		}
	}
	return silentExit(ExitFailure)
}

// pingHeader is iputils' first line.
func pingHeader(name string, addr netip.Addr, size int) string {
	if addr.Is6() {
		return fmt.Sprintf("PING %s (%s) %d data bytes", name, addr, size)
	}
	return fmt.Sprintf("PING %s (%s) %d(%d) bytes of data.", name, addr, size, size+28)
}

// pingRenderer prints reply and error lines as they come and keeps them for
// --json.
type pingRenderer struct {
	w      io.Writer
	quiet  bool
	stamps bool
	mu     sync.Mutex
	events []icmp.PingEvent
}

func (r *pingRenderer) event(ev icmp.PingEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if r.quiet {
		return
	}
	fmt.Fprintln(r.w, formatPingEvent(ev, r.stamps))
}

func (r *pingRenderer) replies() []icmp.PingEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events
}

// formatPingEvent renders one line as iputils does (ping_common.c).
func formatPingEvent(ev icmp.PingEvent, stamps bool) string {
	var b strings.Builder
	if stamps {
		fmt.Fprintf(&b, "[%d.%06d] ", ev.At.Unix(), ev.At.Nanosecond()/1000)
	}
	if ev.Kind == icmp.PingError {
		fmt.Fprintf(&b, "From %s icmp_seq=%d %s", ev.From, ev.Seq, ev.Message)
		return b.String()
	}
	fmt.Fprintf(&b, "%d bytes from %s: icmp_seq=%d", ev.Bytes, ev.From, ev.Seq)
	if ev.TTL >= 0 {
		fmt.Fprintf(&b, " ttl=%d", ev.TTL)
	}
	fmt.Fprintf(&b, " time=%s ms", formatReplyTime(ev.RTT))
	if ev.Dup {
		b.WriteString(" (DUP!)")
	}
	return b.String()
}

// formatReplyTime prints fewer decimals as the time grows, as iputils does:
// three below 1 ms, two below 10 ms, one below 100 ms, none above.
func formatReplyTime(d time.Duration) string {
	us := d.Microseconds()
	switch {
	case us >= 100000:
		return strconv.FormatInt(us/1000, 10)
	case us >= 10000:
		return fmt.Sprintf("%d.%01d", us/1000, us%1000/100)
	case us >= 1000:
		return fmt.Sprintf("%d.%02d", us/1000, us%1000/10)
	}
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

// writePingSummary prints iputils' closing statistics for one host.
func writePingSummary(w io.Writer, name string, h icmp.HostResult) {
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", name)
	fmt.Fprintf(w, "%d packets transmitted, %d received", h.Transmitted, h.Received)
	if h.Duplicates > 0 {
		fmt.Fprintf(w, ", +%d duplicates", h.Duplicates)
	}
	if h.Errors > 0 {
		fmt.Fprintf(w, ", +%d errors", h.Errors)
	}
	if h.Transmitted > 0 {
		// iputils prints the loss with %g of a float: 33.3333%.
		fmt.Fprintf(w, ", %s%% packet loss, time %dms", strconv.FormatFloat(float64(float32(h.LossPercent())), 'g', 6, 32), h.Elapsed.Milliseconds())
	}
	fmt.Fprintln(w)
	if h.RTT.N() > 0 {
		fmt.Fprintf(w, "rtt min/avg/max/mdev = %s/%s/%s/%s ms\n", msMicros(h.RTT.Min()), msMicros(h.RTT.Mean()), msMicros(h.RTT.Max()), msMicros(h.RTT.Stddev()))
	}
}

// msMicros prints milliseconds cut to whole microseconds, as iputils' "%ld.%03ld".
func msMicros(ms float64) string {
	us := int64(ms * 1000)
	return fmt.Sprintf("%d.%03d", us/1000, us%1000)
}

type pingReplyJSON struct {
	Seq   int      `json:"seq"`
	From  string   `json:"from"`
	Bytes int      `json:"bytes,omitempty"`
	TTL   *int     `json:"ttl,omitempty"`
	RTTms *float64 `json:"rtt_ms,omitempty"`
	Dup   bool     `json:"dup,omitempty"`
	Error string   `json:"error,omitempty"`
}

type pingHostJSON struct {
	Host        string          `json:"host"`
	Address     string          `json:"address"`
	Transmitted int             `json:"transmitted"`
	Received    int             `json:"received"`
	Duplicates  int             `json:"duplicates"`
	Errors      int             `json:"errors"`
	LossPct     float64         `json:"loss_pct"`
	TimeMs      float64         `json:"time_ms"`
	RTTMinMs    *float64        `json:"rtt_min_ms"`
	RTTAvgMs    *float64        `json:"rtt_avg_ms"`
	RTTMaxMs    *float64        `json:"rtt_max_ms"`
	RTTMdevMs   *float64        `json:"rtt_mdev_ms"`
	Replies     []pingReplyJSON `json:"replies"`
}

func pingJSON(targets []pingTarget, res icmp.PingResult, events []icmp.PingEvent) any {
	hosts := make([]pingHostJSON, 0, len(res.Hosts))
	for i, h := range res.Hosts {
		j := pingHostJSON{
			Host: targets[i].name, Address: h.Host.String(),
			Transmitted: h.Transmitted, Received: h.Received, Duplicates: h.Duplicates, Errors: h.Errors,
			LossPct: h.LossPercent(), TimeMs: float64(h.Elapsed) / float64(time.Millisecond),
			Replies: []pingReplyJSON{},
		}
		if h.RTT.N() > 0 {
			mn, avg, mx, md := h.RTT.Min(), h.RTT.Mean(), h.RTT.Max(), h.RTT.Stddev()
			j.RTTMinMs, j.RTTAvgMs, j.RTTMaxMs, j.RTTMdevMs = &mn, &avg, &mx, &md
		}
		hosts = append(hosts, j)
	}
	for _, ev := range events {
		for i := range res.Hosts {
			if res.Hosts[i].Host != ev.Host {
				continue
			}
			r := pingReplyJSON{Seq: ev.Seq, From: ev.From.String(), Dup: ev.Dup}
			if ev.Kind == icmp.PingError {
				r.Error = ev.Message
			} else {
				rtt := float64(ev.RTT) / float64(time.Millisecond)
				r.RTTms, r.Bytes = &rtt, ev.Bytes
				if ev.TTL >= 0 {
					ttl := ev.TTL
					r.TTL = &ttl
				}
			}
			hosts[i].Replies = append(hosts[i].Replies, r)
			break
		}
	}
	return struct {
		Hosts []pingHostJSON `json:"hosts"`
	}{hosts}
}
