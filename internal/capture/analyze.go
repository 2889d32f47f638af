// Package capture owns socklab's capture analysis: it streams a pcap or
// pcapng file (gzip-compressed or not; Ethernet, Linux cooked SLL/SLL2, raw
// IP and loopback link types) through gopacket's pure-Go pcapgo reader,
// decodes IPv4/IPv6 with UDP, TCP and ICMP, joins both directions of each
// 5-tuple into a flow and measures it: throughput, packet sizes, qoswire
// probe loss/reorder/jitter/IPDV/RTT, echo RTT and jitter for other UDP,
// TCP handshake and segment RTT, retransmissions and zero windows, an HTTP
// summary, ICMP echo RTT and loss.
//
// Memory is bounded whatever the size of the capture: the flow table is
// capped (the smallest flows are evicted), per-flow state is of fixed size,
// and quantile histograms are handed out from a fixed budget.
// The package opens no socket and starts no goroutine.
package capture

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/socklab/socklab/internal/stats"
)

// Config tunes an Analyzer. The zero value is ready to use.
type Config struct {
	// Filter keeps only the packets it matches (see ParseFilter). Nil keeps all.
	Filter *Filter
	// Interval is the width of the intervals the peak throughput is
	// measured over. Zero means one second; an interval finer than
	// Resolution is widened to it (with a note in the Result).
	Interval time.Duration
	// Resolution is the timestamp resolution of the frames: no bucket or
	// histogram bin is narrower, since no time difference in the capture
	// is finer. Analyze reads it from the file (pcap's header magic,
	// pcapng's if_tsresol); zero means 1 ns.
	Resolution time.Duration
	// MaxFlows caps the flow table (a flow takes at most about 2 KiB, so
	// about 130 MiB at the default). Zero means 65536.
	MaxFlows int
	// MaxSessions caps the qoswire sessions followed in detail (about
	// 28 KiB each); probes of further sessions only count as probes. Zero
	// means 1024.
	MaxSessions int
	// MaxHistograms caps the latency histograms used for quantiles (about
	// 58 KiB each); flows beyond it report min/avg/max/mdev only. Zero
	// means 512.
	MaxHistograms int
}

// Analyzer accumulates packets into flows. Use Analyze for a whole file, or
// feed frames yourself with AddFrame.
type Analyzer struct {
	cfg      Config
	notes    []string
	dec      *decoder
	flows    *flowTable
	seed     maphash.Seed
	hists    int
	sessions int
	pkt      packet
	tot      totals
}

type totals struct {
	packets, bytes     int64
	first, last        int64
	notIP, otherIP     int64
	malformed, skipped int64
	links              []linkCount // a capture rarely has more than one or two
	series             rateSeries
}

// New returns an Analyzer with cfg's zero values replaced by the defaults.
func New(cfg Config) *Analyzer {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	cfg.Resolution = max(cfg.Resolution, time.Nanosecond)
	var notes []string
	if cfg.Interval < cfg.Resolution {
		notes = append(notes, fmt.Sprintf("interval %v is finer than the capture's timestamp resolution; using %v", cfg.Interval, cfg.Resolution))
		cfg.Interval = cfg.Resolution
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = 65536
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 1024
	}
	if cfg.MaxHistograms <= 0 {
		cfg.MaxHistograms = 512
	}
	return &Analyzer{
		cfg:   cfg,
		notes: notes,
		dec:   newDecoder(),
		flows: newFlowTable(cfg.MaxFlows),
		seed:  maphash.MakeSeed(),
	}
}

// ctxCheckEvery is how many packets Analyze reads between looks at ctx.
const ctxCheckEvery = 4096

// Analyze reads a whole capture from r. An input that is not a capture at
// all is an error; a capture damaged part-way is analysed up to the damage
// and Result.Stopped says where and why reading stopped. When ctx is
// cancelled (SIGINT) it stops between packets and returns what it has, with
// Result.Interrupted set; a read blocked on r is not interrupted.
func Analyze(ctx context.Context, r io.Reader, cfg Config) (*Result, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var a *Analyzer
	var stop *StopError
	interrupted := false
	for n := 1; ; n++ {
		if n%ctxCheckEvery == 0 && ctx.Err() != nil {
			interrupted = true
			break
		}
		data, ci, link, err := rd.Next()
		if a == nil {
			// pcapng describes its interfaces (and their resolution)
			// before their first packet, so it is known from here.
			if cfg.Resolution <= 0 {
				cfg.Resolution = rd.Resolution()
			}
			a = New(cfg)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.As(err, &stop) {
				stop = &StopError{Packet: rd.Packets() + 1, Offset: rd.Offset(), Err: err}
			}
			break
		}
		a.AddFrame(link, data, ci)
	}
	// A pcapng interface described later may stamp more coarsely than the
	// first: the bins follow the coarsest whose packets were read.
	a.cfg.Resolution = max(a.cfg.Resolution, rd.Resolution())
	res := a.Result()
	res.Format, res.Gzip, res.Interrupted = rd.Format(), rd.Gzip(), interrupted
	if len(res.LinkTypes) == 0 {
		res.LinkTypes = []string{linkName(rd.LinkType())} // no packets: the header's
	}
	if stop != nil {
		res.Stopped = &Stop{Packet: stop.Packet, Offset: stop.Offset, Reason: stop.Err.Error()}
	}
	return res, nil
}

// AddFrame analyses one captured frame of the given link type. data is not
// retained.
func (a *Analyzer) AddFrame(link layers.LinkType, data []byte, ci gopacket.CaptureInfo) {
	p := &a.pkt
	*p = packet{ts: ci.Timestamp.UnixNano(), wireLen: max(ci.Length, len(data))}
	t := &a.tot
	t.packets++
	t.bytes += int64(p.wireLen)
	if t.packets == 1 {
		t.first, t.last = p.ts, p.ts
	}
	t.first, t.last = min(t.first, p.ts), max(t.last, p.ts)
	t.countLink(link)
	t.series.start(t.first, int64(a.cfg.Interval))
	t.series.add(p.ts, p.wireLen)

	switch a.dec.decode(link, data, p) {
	case decodedNotIP:
		t.notIP++
		return
	case decodedOtherIP:
		t.otherIP++
		return
	case decodedMalformed:
		t.malformed++
		return
	}
	if p.proto == protoICMP || p.proto == protoICMPv6 {
		// One flow per echo identifier; other ICMP shares port 0.
		p.sport, p.dport = 0, 0
		if isEchoRequest(p) || isEchoReply(p) {
			p.sport, p.dport = p.echoID, p.echoID
		}
	}
	if a.cfg.Filter != nil && !a.cfg.Filter.match(p) {
		t.skipped++
		return
	}
	f, _ := a.flows.get(p)
	d := f.dir(p)
	f.packets[d]++
	f.bytes[d] += int64(p.wireLen)
	f.size.Add(float64(p.wireLen))
	if p.ts < f.first {
		f.first = p.ts
	}
	f.last = max(f.last, p.ts)
	// Intervals are counted from the capture's start, as the chart draws
	// them, so a flow's peak is its largest bucket on that axis.
	f.interval.add(p.ts-t.first, int64(a.cfg.Interval), p.wireLen)
	f.series.start(t.first, int64(a.cfg.Interval))
	f.series.add(p.ts, p.wireLen)

	switch p.proto {
	case protoUDP:
		a.udpPacket(f, d, p)
	case protoTCP:
		a.tcpPacket(f, d, p)
	case protoICMP, protoICMPv6:
		a.icmpPacket(f, p)
	}
}

type linkCount struct {
	link    layers.LinkType
	packets int64
}

func (t *totals) countLink(link layers.LinkType) {
	for i := range t.links {
		if t.links[i].link == link {
			t.links[i].packets++
			return
		}
	}
	t.links = append(t.links, linkCount{link, 1})
}

func (a *Analyzer) newHistogram() *stats.Histogram {
	if !a.takeHistograms(1) {
		return nil
	}
	return stats.NewHistogram()
}

func (a *Analyzer) takeHistograms(n int) bool {
	if a.hists+n > a.cfg.MaxHistograms {
		return false
	}
	a.hists += n
	return true
}

// Error makes a Stop usable as an error by callers that want one.
func (s *Stop) Error() string {
	return fmt.Sprintf("capture unreadable from packet %d (byte offset %d): %s", s.Packet, s.Offset, s.Reason)
}
