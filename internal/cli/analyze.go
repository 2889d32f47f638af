package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/socklab/socklab/internal/capture"
	"github.com/socklab/socklab/internal/output"
	"github.com/socklab/socklab/internal/report"
)

type analyzeFlags struct {
	top      int
	filter   string
	json     bool
	csv      string
	report   string
	interval time.Duration
	maxFlows int
}

func newAnalyzeCmd(e *env) *cobra.Command {
	var fl analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze FILE",
		Short: "QoS analysis of a pcap or pcapng capture",
		Long: `Read a capture written by tcpdump, tshark, Wireshark or dumpcap (pcap or
pcapng, optionally gzip-compressed; "-" reads standard input) and measure
every flow: packets, bytes, duration, average and peak throughput, packet
sizes; for socklab QoS probes loss, duplicates, reordering, RTT, RFC 3550
jitter and IPDV; for other UDP jitter and echo RTT; for TCP handshake and
segment RTT, retransmissions, out-of-order segments, zero windows and an
HTTP summary; for ICMP echo RTT and loss. Link types: Ethernet, Linux
cooked (SLL, SLL2), raw IPv4/IPv6 and BSD loopback.

--flow keeps the packets matching a small tcpdump-like filter:
  tcp | udp | icmp, port N, host ADDR, net CIDR, combined with not, and, or
  and parentheses ("udp and port 9000", "host ::1 and not tcp").

A damaged capture is analysed up to the damage; the command then says at
which packet and byte offset it stopped and why, and exits 1.`,
		Example: `  socklab analyze capture.pcapng
  socklab analyze --flow "udp and port 9000" --json capture.pcap.gz
  tcpdump -i lo -w - udp port 9000 | socklab analyze -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd.Context(), e, args[0], fl)
		},
	}
	f := cmd.Flags()
	f.IntVar(&fl.top, "top", 10, "show the N largest flows by bytes (0: all); applies to every output")
	f.StringVar(&fl.filter, "flow", "", `keep only packets matching FILTER, e.g. "udp and port 9000"`)
	f.BoolVar(&fl.json, "json", false, "print one JSON document instead of the table")
	f.StringVar(&fl.csv, "csv", "", "also write the flow table to FILE as CSV (overwritten)")
	f.StringVar(&fl.report, "report", "", "also write a self-contained HTML report to FILE")
	f.DurationVar(&fl.interval, "interval", time.Second, "interval the peak throughput is measured over")
	f.IntVar(&fl.maxFlows, "max-flows", 65536, "flows kept in memory; beyond it the smallest are evicted")
	return cmd
}

func runAnalyze(ctx context.Context, e *env, file string, fl analyzeFlags) error {
	if fl.top < 0 {
		return usageErrf("--top must be 0 or more, not %d", fl.top)
	}
	if fl.interval <= 0 {
		return usageErrf("--interval must be positive, not %s", fl.interval)
	}
	if fl.maxFlows <= 0 {
		return usageErrf("--max-flows must be positive, not %d", fl.maxFlows)
	}
	filter, err := capture.ParseFilter(fl.filter)
	if err != nil {
		return usageErrf("--flow: %v", err)
	}

	in, err := output.Open(file, e.stdin)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	defer in.Close()
	// SIGINT cancels ctx: the analysis stops and prints what it has.
	res, err := capture.Analyze(ctx, in, capture.Config{Filter: filter, Interval: fl.interval, MaxFlows: fl.maxFlows})
	if err != nil {
		return fmt.Errorf("analyze %s: %w", file, err)
	}
	res.File = file
	if fl.top > 0 && len(res.Flows) > fl.top {
		res.Flows = res.Flows[:fl.top]
	}

	if fl.csv != "" {
		if err := output.WriteFile(fl.csv, func(w io.Writer) error { return report.CaptureCSV(w, res) }); err != nil {
			return fmt.Errorf("analyze: write csv: %w", err)
		}
	}
	if fl.report != "" {
		if err := output.WriteFile(fl.report, func(w io.Writer) error { return report.CaptureHTML(w, res, time.Now()) }); err != nil {
			return fmt.Errorf("analyze: write report: %w", err)
		}
	}
	if fl.json {
		err = writeJSON(e.stdout, res)
	} else {
		err = report.CaptureText(e.stdout, res)
	}
	if err != nil {
		return fmt.Errorf("analyze: write output: %w", err)
	}
	if res.Stopped != nil {
		return fmt.Errorf("analyze %s: %w", file, res.Stopped)
	}
	return nil
}
