// Command floor is the start-up floor for bench/trace.sh: the least a Go
// traceroute with socklab's shape links in — cobra for the command line,
// net/http (every other socklab command speaks HTTP), x/net's ipv4, ipv6
// and icmp, and socklab's own trace engine (internal/icmp) — and nothing
// else. Timed in socklab's place (SOCKLAB=<floor binary> bash
// bench/trace.sh), it says how close to traceroute 2.1 a Go binary of this
// kind can start and trace on the machine at hand, so that socklab's own
// figure can be split into what Go costs and what socklab adds.
//
//	floor version
//	floor traceroute [-n] [--json] HOST   # UDP probes, traceroute 2.1's defaults
//	floor get URL                         # links net/http's client
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/net/icmp"

	sicmp "github.com/socklab/socklab/internal/icmp"
)

func main() {
	root := &cobra.Command{Use: "floor", SilenceUsage: true}
	root.AddCommand(
		&cobra.Command{Use: "version", Run: func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "floor") }},
		traceCmd(),
		&cobra.Command{Use: "get URL", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := http.Get(args[0])
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
			return err
		}},
		&cobra.Command{Use: "decode HEX", Args: cobra.ExactArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			b, err := hex.DecodeString(args[0])
			if err != nil {
				return err
			}
			m, err := icmp.ParseMessage(1, b)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), m.Type, m.Code)
			return nil
		}},
	)
	if err := root.ExecuteContext(context.Background()); err != nil {
		os.Exit(1)
	}
}

func traceCmd() *cobra.Command {
	var numeric, asJSON bool
	cmd := &cobra.Command{
		Use:  "traceroute [-n] [--json] HOST",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dst, err := netip.ParseAddr(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			cfg := sicmp.TraceConfig{Protocol: sicmp.TraceUDP, Target: dst, StepPort: true, Wait: 5 * time.Second, WaitHere: 3, WaitNear: 10}
			if !asJSON {
				cfg.OnHop = func(h sicmp.Hop) { fmt.Fprintln(w, hopLine(h)) }
			}
			tr, err := sicmp.NewTracer(cfg)
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(w, "traceroute to %s (%s), 30 hops max\n", args[0], dst)
			}
			start := time.Now()
			res, err := tr.Run(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				// The shape bench/trace.sh reads: "duration_ms" on its own line.
				b, err := json.MarshalIndent(struct {
					DurationMS float64 `json:"duration_ms"`
					Hops       int     `json:"hops"`
				}{float64(time.Since(start).Microseconds()) / 1000, len(res.Hops)}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(w, "%s\n", b)
				return err
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&numeric, "numeric", "n", false, "do not look up hop names (this program never does)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON document")
	return cmd
}

// hopLine is traceroute 2.1's numeric hop line.
func hopLine(h sicmp.Hop) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%2d ", h.TTL)
	var last netip.Addr
	for _, p := range h.Probes {
		if !p.Answered {
			b.WriteString(" *")
			continue
		}
		if p.From != last {
			fmt.Fprintf(&b, " %s", p.From)
			last = p.From
		}
		fmt.Fprintf(&b, "  %.3f ms", float64(p.RTT.Microseconds())/1000)
	}
	return b.String()
}
