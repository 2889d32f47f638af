package icmp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/icmp/icmpresult"
)

// TraceProtocol is the kind of probe a traceroute sends (see icmpresult).
type TraceProtocol = icmpresult.TraceProtocol

// Probe protocols.
const (
	TraceUDP  = icmpresult.TraceUDP
	TraceICMP = icmpresult.TraceICMP
	TraceTCP  = icmpresult.TraceTCP
)

// ParseTraceProtocol reads "udp", "icmp" or "tcp".
func ParseTraceProtocol(s string) (TraceProtocol, error) {
	switch s {
	case "udp", "":
		return TraceUDP, nil
	case "icmp":
		return TraceICMP, nil
	case "tcp":
		return TraceTCP, nil
	}
	return 0, fmt.Errorf("unknown probe protocol %q: want icmp, udp or tcp", s)
}

// TraceConfig configures a Tracer. Only Target is required.
type TraceConfig struct {
	Target   netip.Addr
	Protocol TraceProtocol
	// Port is the destination port: 0 means 33434 for UDP, 80 for TCP.
	// Unlike classic traceroute it stays the same for every probe of a flow
	// (Paris traceroute), so per-flow load balancers keep one path, unless
	// StepPort.
	Port int
	// StepPort makes UDP probes classic traceroute's (traceroute 2.1's
	// default): the destination port is Port plus the probe's number and
	// the length is fixed, so a load balancer may send each probe its own
	// way. It needs one flow.
	StepPort bool
	// FirstTTL is the first hop probed; 0 means 1.
	FirstTTL int
	// MaxTTL is the last hop probed; 0 means 30.
	MaxTTL int
	// Queries is the number of probes per hop and flow; 0 means 3.
	Queries int
	// Wait is the longest wait for a probe's answer; 0 means 5s. As in
	// traceroute 2.1 a probe is given up sooner, after 3× the round trip of
	// an answered probe at its hop, or 10× that of a later hop (never less
	// than 100ms).
	Wait time.Duration
	// WaitHere and WaitNear are traceroute 2.1's -w HERE and NEAR factors:
	// 0 means 3 and 10; a negative value turns that shortening off.
	WaitHere, WaitNear float64
	// InFlight is the number of probes out at once; 0 means 16.
	InFlight int
	// Flows is the number of flow ids traced side by side (multipath
	// discovery); 0 means 1.
	Flows int
	// Resolve, if set, names hop addresses (reverse DNS). It is called once
	// per address and run, as soon as the address first answers, beside the
	// probing (never on the scheduler's path), with a context that expires
	// after ResolveTimeout; "" means no name. A lookup that runs out of time
	// leaves the address numeric (ProbeResult.NameTimedOut, and a warning
	// in the log).
	Resolve func(ctx context.Context, addr netip.Addr) string
	// ResolveTimeout bounds each Resolve call; 0 means 1s.
	ResolveTimeout time.Duration
	// ResolveParallel is the number of lookups at once; 0 means 8.
	ResolveParallel int
	// OnHop, if set, is called once per hop, in hop order, as soon as all of
	// the hop's probes are answered or given up and their names are looked
	// up (or timed out). It is called from a goroutine of Run's, one hop at
	// a time, and all calls return before Run does.
	OnHop func(Hop)
	// Socket picks the ICMP socket: SocketAuto uses a raw socket, falling
	// back for ICMP probes (one flow) to an unprivileged datagram socket,
	// which hears routers through its error queue. UDP and TCP probes need
	// a raw socket.
	Socket SocketMode
	// Listen opens the ICMP sockets; nil means Listen.
	Listen func(ListenConfig) (Conn, error)
	// Logger receives debug notes; nil discards them.
	Logger *slog.Logger
}

// The trace result types live in icmpresult, which opens no socket.
type (
	ProbeResult = icmpresult.ProbeResult
	Hop         = icmpresult.Hop
	TraceResult = icmpresult.TraceResult
)

// Trace runs a Tracer for cfg.
func Trace(ctx context.Context, cfg TraceConfig) (TraceResult, error) {
	t, err := NewTracer(cfg)
	if err != nil {
		return TraceResult{}, err
	}
	return t.Run(ctx)
}

// Tracer discovers the path to one destination.
type Tracer struct {
	cfg  TraceConfig
	log  *slog.Logger
	v6   bool
	base int // payload bytes of the smallest UDP / ICMP probe
	id   uint16
	seq0 uint32
	// sender and raw are set before the readers start and not changed after.
	sender sender
	raw    bool // false: a datagram socket, whose kernel rewrites the echo id
}

// Header and probe sizes as traceroute 2.1: 60-byte IPv4 and 80-byte IPv6
// packets by default.
const (
	defaultDataLen = 32
	udpPort        = 33434
	tcpPort        = 80
)

// withDefaults fills the zero fields of c.
func (c TraceConfig) withDefaults() TraceConfig {
	c.Target = c.Target.Unmap()
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.FirstTTL, 1)
	def(&c.MaxTTL, 30)
	def(&c.Queries, 3)
	def(&c.InFlight, 16)
	def(&c.Flows, 1)
	def(&c.ResolveParallel, defaultResolveParallel)
	if c.Port == 0 {
		c.Port = udpPort
		if c.Protocol == TraceTCP {
			c.Port = tcpPort
		}
	}
	if c.WaitHere == 0 {
		c.WaitHere = 3
	}
	if c.WaitNear == 0 {
		c.WaitNear = 10
	}
	if c.Wait == 0 {
		c.Wait = 5 * time.Second
	}
	if c.ResolveTimeout == 0 {
		c.ResolveTimeout = time.Second
	}
	return c
}

// Validate reports whether NewTracer would accept c. Its errors wrap
// errs.ErrInvalidConfig.
func (c TraceConfig) Validate() error {
	if !c.Target.IsValid() {
		return errs.Invalidf("traceroute: no target address")
	}
	c = c.withDefaults()
	switch {
	case c.MaxTTL < 1 || c.MaxTTL > 255:
		return errs.Invalidf("traceroute: max hops %d: out of range 1-255", c.MaxTTL)
	case c.FirstTTL < 1 || c.FirstTTL > c.MaxTTL:
		return errs.Invalidf("traceroute: first hop %d: out of range 1-%d", c.FirstTTL, c.MaxTTL)
	case c.Queries < 1 || c.Queries > 10:
		return errs.Invalidf("traceroute: %d probes per hop: out of range 1-10", c.Queries)
	case c.InFlight < 1 || c.InFlight > 256:
		return errs.Invalidf("traceroute: %d probes in flight: out of range 1-256", c.InFlight)
	case c.Flows < 1 || c.Flows > 64:
		return errs.Invalidf("traceroute: %d flows: out of range 1-64", c.Flows)
	case c.Port < 1 || c.Port > 65535:
		return errs.Invalidf("traceroute: port %d: out of range 1-65535", c.Port)
	case c.StepPort && (c.Protocol != TraceUDP || c.Flows != 1):
		return errs.Invalidf("traceroute: stepping the port is for UDP probes of one flow")
	case c.StepPort && c.Port+(c.MaxTTL-c.FirstTTL+1)*c.Queries-1 > 65535:
		return errs.Invalidf("traceroute: port %d stepped once per probe goes past 65535", c.Port)
	case (c.MaxTTL-c.FirstTTL+1)*c.Flows*c.Queries > 65535:
		return errs.Invalidf("traceroute: more than 65535 probes (hops × flows × queries)")
	case c.Wait < 0:
		return errs.Invalidf("traceroute: negative wait")
	case c.ResolveTimeout < 0:
		return errs.Invalidf("traceroute: negative name lookup timeout")
	case c.ResolveParallel < 1 || c.ResolveParallel > 256:
		return errs.Invalidf("traceroute: %d name lookups at once: out of range 1-256", c.ResolveParallel)
	case c.Protocol == TraceUDP && (c.MaxTTL-c.FirstTTL+1)*c.Queries > 1024:
		return errs.Invalidf("traceroute: udp probes: %d hops × %d queries: at most 1024 probes per flow (the probe number rides in the datagram length)", c.MaxTTL-c.FirstTTL+1, c.Queries)
	}
	return nil
}

// NewTracer checks cfg and fills in the defaults.
func NewTracer(cfg TraceConfig) (*Tracer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Listen == nil {
		cfg.Listen = Listen
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t := &Tracer{cfg: cfg, log: log, v6: cfg.Target.Is6(), base: defaultDataLen}
	var r [6]byte
	_, _ = rand.Read(r[:])
	t.id = binary.BigEndian.Uint16(r[:2]) &^ 0x3f // low bits carry the flow
	t.seq0 = binary.BigEndian.Uint32(r[2:])
	return t, nil
}

func (t *Tracer) perHop() int { return t.cfg.Flows * t.cfg.Queries }

func (t *Tracer) total() int { return (t.cfg.MaxTTL - t.cfg.FirstTTL + 1) * t.perHop() }

// ttlOf and flowOf decode a probe index: probes are numbered hop by hop,
// flow by flow within a hop.
func (t *Tracer) ttlOf(i int) int  { return t.cfg.FirstTTL + i/t.perHop() }
func (t *Tracer) flowOf(i int) int { return i % t.perHop() / t.cfg.Queries }

// PacketLen is the IP packet size of the smallest probe, for traceroute's
// header line.
func (t *Tracer) PacketLen() int {
	ip := 20
	if t.v6 {
		ip = 40
	}
	if t.cfg.Protocol == TraceTCP {
		return ip + 20
	}
	return ip + 8 + t.base
}

// answer is a reply matched to probe idx.
type answer struct {
	idx   int
	from  netip.Addr
	pkt   Packet
	annot string
	final bool // destination reached or unreachable: no point going further
}

// sender sends probe idx with the given TTL.
type sender interface {
	send(idx, ttl int) error
	close()
}

// Run traces until the destination answers (or says it is unreachable),
// MaxTTL is passed or ctx is cancelled. It needs raw ICMP sockets to hear
// routers, except that nothing else is tried: the error says so.
//
// Probing and naming run side by side: the scheduler sends probes and
// matches answers on its own clock while the hops' names are looked up
// concurrently (see namer), so a slow resolver delays a hop's line (OnHop)
// and Run's return by at most ResolveTimeout, never a probe or its timing.
func (t *Tracer) Run(ctx context.Context) (TraceResult, error) {
	res := TraceResult{Target: t.cfg.Target, Protocol: t.cfg.Protocol, Port: t.cfg.Port, MaxTTL: t.cfg.MaxTTL, PacketLen: t.PacketLen()}
	icmpConn, err := t.listen()
	if err != nil {
		return res, err
	}
	t.raw = icmpConn.Raw()
	snd, tcpConn, err := t.newSender(icmpConn)
	if err != nil {
		icmpConn.Close()
		return res, fmt.Errorf("traceroute: %w", err)
	}
	t.sender = snd
	answers := make(chan answer, 64)
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() { t.readICMP(icmpConn, answers, done) })
	if tcpConn != nil {
		readers.Go(func() { t.readTCP(tcpConn, answers, done) })
	}

	names := t.newNamer(ctx)
	hops := make(chan Hop, t.cfg.MaxTTL-t.cfg.FirstTTL+1) // room for every hop: the scheduler never waits
	var named []Hop
	var emitter sync.WaitGroup
	emitter.Go(func() { named = t.emitHops(hops, names) })

	run := t.newRun(snd, answers, hops, names)
	start := time.Now()
	err = run.schedule(ctx)
	res.Elapsed = time.Since(start)
	res.Reached = run.reached
	close(done)
	icmpConn.Close()
	snd.close()
	readers.Wait()

	close(hops)
	emitter.Wait()
	names.close()
	res.Hops = named
	return res, err
}

// newSender opens what sends the probes; for TCP also the socket that hears
// the destination's SYN-ACK or RST.
func (t *Tracer) newSender(icmpConn Conn) (sender, *sockConn, error) {
	switch t.cfg.Protocol {
	case TraceICMP:
		return &icmpSender{t: t, c: icmpConn}, nil, nil
	case TraceTCP:
		s, err := t.newTCPSender()
		if err != nil {
			return nil, nil, err
		}
		return s, s.c, nil
	}
	s, err := t.newUDPSender()
	if err != nil {
		return nil, nil, err
	}
	return s, nil, nil
}

// listen opens the ICMP socket as TraceConfig.Socket says.
func (t *Tracer) listen() (Conn, error) {
	mode := t.cfg.Socket
	dgramOK := t.cfg.Protocol == TraceICMP && t.cfg.Flows == 1
	if mode == SocketDatagram && !dgramOK {
		return nil, errors.New("traceroute: datagram sockets carry only ICMP probes of one flow")
	}
	if mode == SocketAuto && !dgramOK {
		mode = SocketRaw
	}
	c, err := t.cfg.Listen(ListenConfig{V6: t.v6, Mode: mode})
	if err == nil {
		return c, nil
	}
	if errors.Is(err, ErrNoPermission) || isPermission(err) {
		hint := "run as root or with CAP_NET_RAW"
		if t.cfg.Protocol != TraceICMP {
			hint += ", or use -P icmp with net.ipv4.ping_group_range widened to your group"
		}
		return nil, fmt.Errorf("traceroute: %w (%s)", err, hint)
	}
	return nil, fmt.Errorf("traceroute: %w", err)
}
