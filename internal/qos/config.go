// Package qos is socklab's QoS tester: it sends qoswire probes to a
// reflector on one UDP socket per stream, paced by internal/pace, and turns
// the stamped replies into loss (split upstream and downstream), duplicates,
// reordering, RTT with the reflector's dwell time removed, RFC 3550 jitter
// and RFC 3393 IPDV per direction, throughput and self-diagnostics. A TCP
// mode streams bytes from socklab serve and reports goodput and TCP_INFO.
//
// The engine never prints: Run returns a Result and reports progress
// through the Config.OnEvent hook; internal/report renders both.
package qos

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/pace"
	"github.com/socklab/socklab/internal/qoswire"
)

// Defaults used for zero Config fields.
const (
	DefaultTarget         = "127.0.0.1:9090" // through socklab proxy's UDP relay
	DefaultSize           = qoswire.HeaderLen
	DefaultInterval       = 10 * time.Millisecond
	DefaultCount          = 1000 // with DefaultInterval: a 10 s run, like iperf3's default
	DefaultReportInterval = time.Second
	DefaultTCPDuration    = 10 * time.Second
	// MaxStreams bounds Streams, as iperf3 does: each stream keeps about
	// 200 KiB of histograms.
	MaxStreams = 128
	// DefaultRateCatchUp is how late a bit-rate sender may still send a
	// slot: a rate sender sleeps on a timer, which on a busy machine wakes
	// milliseconds late.
	DefaultRateCatchUp = 20 * time.Millisecond
	// MinWait is the floor of the automatic straggler wait.
	MinWait = 200 * time.Millisecond
)

// Config describes one QoS run. The zero value sends 1000 64-byte probes
// every 10ms to 127.0.0.1:9090 on one stream.
type Config struct {
	// Target is the reflector's host:port; "" means DefaultTarget.
	Target string
	// Network is "udp", "udp4" or "udp6"; "" means "udp".
	Network string
	// Size is the UDP payload of each probe in bytes, header included:
	// from qoswire.HeaderLen (64) to qoswire.MaxSize; 0 means 64.
	Size int
	// Interval between probes of one stream; 0 means 10ms unless Rate or
	// Burst is set.
	Interval time.Duration
	// Rate is a target payload bit rate per stream (bit/s); when set it
	// overrides Interval (interval = Size·8 / Rate).
	Rate float64
	// Burst sends as fast as possible (no pacing); it overrides Interval
	// and Rate.
	Burst bool
	// CatchUp is how late a probe may still be sent after its slot; slots
	// later than that are skipped and counted as timer misses. 0 means one
	// interval when pacing by Interval (probes are never bunched: an
	// isochronous stream for latency), and DefaultRateCatchUp (or one
	// interval if longer) with Rate, so a sender that loses the CPU or wakes
	// late catches up in a batch and the rate holds, as iperf3's does; those
	// bunched sends are counted in Diagnostics.LateSends.
	CatchUp time.Duration
	// Count is the number of probes per stream; Duration bounds the sending
	// time. Either or both may be set; when both are 0, Count is 1000.
	Count    int64
	Duration time.Duration
	// Streams is the number of parallel sessions, each on its own socket;
	// 0 means 1, at most MaxStreams.
	Streams int
	// Wait is how long to listen for stragglers after the last send; a
	// reply slower than Wait counts as late, not received. 0 means
	// automatic: twice the largest RTT seen, at least MinWait.
	Wait time.Duration
	// ReportInterval is the period of interval events; 0 means 1s, a
	// negative value turns them off.
	ReportInterval time.Duration
	// OneWay sends probes the reflector counts and times but does not
	// answer (socklab serve), and reads its counts back at the end: loss,
	// throughput and jitter one way, as iperf3 measures them; no RTT.
	OneWay bool
	// OWD also reports absolute one-way delays, which are only meaningful
	// when the sender's and reflector's clocks are synchronised.
	OWD bool
	// SeriesPoints caps the RTT-over-time series kept for charts; 0 means
	// 2000. Samples are merged into time buckets, so memory stays bounded
	// however long the run.
	SeriesPoints int

	// TCP, when set, switches to TCP mode: an http:// URL of socklab serve
	// (a bare origin gets the /_socklab/bytes endpoint) streamed for
	// Duration (0 means 10s), reporting goodput per interval and TCP_INFO.
	TCP string

	// OnEvent, if non-nil, receives start, interval, progress and end
	// events. It is called from the engine's goroutines one at a time and
	// should return quickly.
	OnEvent func(Event)
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Validate reports whether New would accept c. Its errors wrap
// errs.ErrInvalidConfig.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Target == "" {
		c.Target = DefaultTarget
	}
	if c.Network == "" {
		c.Network = "udp"
	}
	switch c.Network {
	case "udp", "udp4", "udp6":
	default:
		return c, errs.Invalidf("qos: network %q: want udp, udp4 or udp6", c.Network)
	}
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.TCP == "" && (c.Size < qoswire.HeaderLen || c.Size > qoswire.MaxSize) {
		return c, errs.Invalidf("qos: size %d: must be between %d and %d bytes", c.Size, qoswire.HeaderLen, qoswire.MaxSize)
	}
	if c.CatchUp < 0 || c.Interval < 0 || c.Rate < 0 || c.Count < 0 || c.Duration < 0 || c.Streams < 0 || c.Wait < 0 {
		return c, errs.Invalidf("qos: interval, rate, count, duration, streams and wait must not be negative")
	}
	switch {
	case c.Burst:
		c.Interval = 0
	case c.Rate > 0:
		c.Interval = pace.IntervalForRate(c.Rate, c.Size)
	case c.Interval == 0:
		c.Interval = DefaultInterval
	}
	if c.TCP != "" {
		if c.Duration == 0 {
			c.Duration = DefaultTCPDuration
		}
		u, err := url.Parse(c.TCP)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, errs.Invalidf("qos: tcp url %q: want http://host:port[/path]", c.TCP)
		}
	} else if c.Count == 0 && c.Duration == 0 {
		c.Count = DefaultCount
	}
	if c.CatchUp == 0 && c.Rate > 0 && !c.Burst {
		c.CatchUp = DefaultRateCatchUp
	}
	if c.CatchUp < c.Interval {
		c.CatchUp = c.Interval
	}
	if c.Streams == 0 {
		c.Streams = 1
	}
	if c.Streams > MaxStreams {
		return c, errs.Invalidf("qos: %d streams: at most %d", c.Streams, MaxStreams)
	}
	if c.ReportInterval == 0 {
		c.ReportInterval = DefaultReportInterval
	}
	if c.SeriesPoints <= 0 {
		c.SeriesPoints = 2000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// schedule is the pacing plan of one stream.
func (c Config) schedule() pace.Schedule {
	return pace.Schedule{Interval: c.Interval, Count: uint64(c.Count), Duration: c.Duration, MaxLate: c.CatchUp}
}
