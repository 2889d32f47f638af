package report

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/socklab/socklab/internal/icmp/icmpresult"
)

// TraceHeader is traceroute 2.1's first line.
func TraceHeader(host string, addr netip.Addr, maxHops, packetLen int) string {
	return fmt.Sprintf("traceroute to %s (%s), %d hops max, %d byte packets", host, addr, maxHops, packetLen)
}

// FormatHop renders a hop as traceroute 2.1's print_probe does: the address
// is printed before the first answered probe and again whenever it changes.
func FormatHop(h icmpresult.Hop, numeric bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%2d ", h.TTL)
	var last netip.Addr
	multi := slices.ContainsFunc(h.Probes, func(p icmpresult.ProbeResult) bool { return p.Flow > 0 })
	for _, p := range h.Probes {
		if multi {
			// --flows N: say which flow each answer (or "*") belongs to,
			// and print the address again, since flows may differ.
			fmt.Fprintf(&b, " f%d", p.Flow+1)
			last = netip.Addr{}
		}
		if !p.Answered {
			b.WriteString(" *")
			continue
		}
		if p.From != last {
			switch {
			case numeric:
				fmt.Fprintf(&b, " %s", p.From)
			case p.Name != "":
				fmt.Fprintf(&b, " %s (%s)", p.Name, p.From)
			default:
				fmt.Fprintf(&b, " %s (%s)", p.From, p.From)
			}
			last = p.From
		}
		fmt.Fprintf(&b, "  %.3f ms", ms(p.RTT))
		if p.Annotation != "" {
			fmt.Fprintf(&b, " %s", p.Annotation)
		}
	}
	return b.String()
}

// TraceProbeDoc is one probe of the traceroute --json document.
type TraceProbeDoc struct {
	Flow     int    `json:"flow"`
	Answered bool   `json:"answered"`
	Address  string `json:"address,omitempty"`
	Name     string `json:"name,omitempty"`
	// NameTimedOut notes a reverse lookup that ran out of time.
	NameTimedOut bool     `json:"name_timed_out,omitempty"`
	RTTMs        *float64 `json:"rtt_ms,omitempty"`
	Annotation   string   `json:"annotation,omitempty"`
}

// TraceHopDoc is one hop of the traceroute --json document.
type TraceHopDoc struct {
	TTL    int             `json:"ttl"`
	Probes []TraceProbeDoc `json:"probes"`
}

// TraceDoc is the traceroute --json document.
type TraceDoc struct {
	Target     string        `json:"target"`
	Address    string        `json:"address"`
	Protocol   string        `json:"protocol"`
	Port       int           `json:"port,omitempty"`
	MaxHops    int           `json:"max_hops"`
	PacketLen  int           `json:"packet_len"`
	Reached    bool          `json:"reached"`
	DurationMs float64       `json:"duration_ms"`
	Hops       []TraceHopDoc `json:"hops"`
}

// TraceJSON builds the --json document of a trace to host.
func TraceJSON(host string, res icmpresult.TraceResult) TraceDoc {
	hops := make([]TraceHopDoc, 0, len(res.Hops))
	for _, h := range res.Hops {
		hj := TraceHopDoc{TTL: h.TTL, Probes: []TraceProbeDoc{}}
		for _, p := range h.Probes {
			pj := TraceProbeDoc{Flow: p.Flow, Answered: p.Answered, Annotation: p.Annotation}
			if p.Answered {
				rtt := ms(p.RTT)
				pj.Address, pj.Name, pj.NameTimedOut, pj.RTTMs = p.From.String(), p.Name, p.NameTimedOut, &rtt
			}
			hj.Probes = append(hj.Probes, pj)
		}
		hops = append(hops, hj)
	}
	port := res.Port
	if res.Protocol == icmpresult.TraceICMP {
		port = 0
	}
	return TraceDoc{Target: host, Address: res.Target.String(), Protocol: res.Protocol.String(), Port: port,
		MaxHops: res.MaxTTL, PacketLen: res.PacketLen, Reached: res.Reached, DurationMs: ms(res.Elapsed), Hops: hops}
}
