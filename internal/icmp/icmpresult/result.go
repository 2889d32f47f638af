// Package icmpresult holds what ping and traceroute measured, as plain
// values: the engine (internal/icmp) fills them, the renderers
// (internal/report) read them. It opens no socket, so the presentation
// layer can import it without importing the engine.
package icmpresult

import (
	"net/netip"
	"time"

	"github.com/socklab/socklab/internal/stats"
)

// PingEventKind says what a PingEvent reports.
type PingEventKind int

const (
	// PingReply is an echo reply (possibly a duplicate).
	PingReply PingEventKind = iota
	// PingError is an ICMP error caused by one of our requests: time
	// exceeded, destination unreachable, packet too big...
	PingError
	// PingLocalError is a request this host refused to send (too big for
	// the path MTU with -M do, no route): iputils prints it and counts it
	// in "+N errors".
	PingLocalError
)

// PingEvent is one reply or error, for rendering iputils-style lines.
type PingEvent struct {
	Kind PingEventKind
	Host netip.Addr
	// From is who sent it: the host for replies, a router for most errors.
	From netip.Addr
	Seq  int
	// Bytes is the ICMP message length (iputils' "64 bytes").
	Bytes int
	TTL   int // -1 when unknown
	RTT   time.Duration
	Dup   bool
	// Message is the ICMP error's description ("Time to live exceeded"),
	// or a local error's, as iputils words it ("local error: message too
	// long, mtu=1500").
	Message string
	// At is when the reply arrived (wall clock), for ping -D.
	At time.Time
}

// HostResult is the summary for one host.
type HostResult struct {
	Host        netip.Addr
	Transmitted int
	Received    int
	Duplicates  int
	Errors      int
	// RTT holds the round-trip times of first replies, in milliseconds.
	RTT stats.Summary
	// Elapsed runs from the first request to the last reply or request.
	Elapsed time.Duration
}

// LossPercent is (transmitted − received) / transmitted × 100, as iputils.
func (h HostResult) LossPercent() float64 {
	if h.Transmitted == 0 {
		return 0
	}
	return float64(h.Transmitted-h.Received) * 100 / float64(h.Transmitted)
}

// PingResult is what Ping returns.
type PingResult struct {
	Hosts []HostResult
	// Raw reports whether raw sockets were used (false: datagram sockets).
	Raw bool
}

// TraceProtocol is the kind of probe a traceroute sends.
type TraceProtocol int

const (
	// TraceUDP sends UDP datagrams to port 33434 (the default, as traceroute).
	TraceUDP TraceProtocol = iota
	// TraceICMP sends echo requests (traceroute -I).
	TraceICMP
	// TraceTCP sends SYNs to Port (traceroute -T).
	TraceTCP
)

func (p TraceProtocol) String() string {
	switch p {
	case TraceICMP:
		return "icmp"
	case TraceTCP:
		return "tcp"
	}
	return "udp"
}

// ProbeResult is one probe's outcome.
type ProbeResult struct {
	Flow     int
	Answered bool
	From     netip.Addr
	Name     string // reverse DNS name, "" when not resolved
	// NameTimedOut is true when the reverse lookup ran out of time: the
	// address is shown numerically.
	NameTimedOut bool
	RTT          time.Duration
	// Annotation is traceroute's mark for an unreachable: !H !N !P !X ...
	Annotation string
	// Reached is true when the answer came from the destination itself.
	Reached bool
}

// Hop is one TTL's probes.
type Hop struct {
	TTL    int
	Probes []ProbeResult
}

// TraceResult is what Trace returns.
type TraceResult struct {
	Target   netip.Addr
	Protocol TraceProtocol
	Port     int
	MaxTTL   int
	// PacketLen is the size of the first probe's IP packet.
	PacketLen int
	Hops      []Hop
	// Reached is true when the destination answered.
	Reached bool
	// Elapsed is the probing's: from the first probe to the last hop
	// settled. Name lookups overlap it and may end up to the lookup
	// timeout later.
	Elapsed time.Duration
}
