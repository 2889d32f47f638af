package udprelay

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type dirCounters struct {
	packets, bytes  atomic.Uint64 // received from this direction's source
	sent, sentBytes atomic.Uint64 // written towards its destination
	lost, overflow  atomic.Uint64 // impairment: loss model, queue overflow
	refused, errors atomic.Uint64 // session table full; send failed
	duplicated      atomic.Uint64
	corrupted       atomic.Uint64
	reordered       atomic.Uint64
}

type counters struct {
	up, down        dirCounters
	opened, expired atomic.Uint64
	evicted         atomic.Uint64 // not established, ended to make room
}

// DirStats counts one direction: Up is client → upstream, Down is
// upstream → client.
type DirStats struct {
	Packets    uint64 `json:"packets"` // datagrams received
	Bytes      uint64 `json:"bytes"`
	PacketsOut uint64 `json:"packets_out"` // datagrams sent on (duplicates included)
	BytesOut   uint64 `json:"bytes_out"`
	Drops      uint64 `json:"drops"` // the sum of the four below
	// DropsLoss: dropped by the --loss model. DropsQueue: the rate
	// limiter's or the delay queue's overflow. DropsSessionLimit: a new
	// client while the session table was full. DropsError: the send failed
	// (upstream not listening, say).
	DropsLoss         uint64 `json:"drops_loss"`
	DropsQueue        uint64 `json:"drops_queue"`
	DropsSessionLimit uint64 `json:"drops_session_limit"`
	DropsError        uint64 `json:"drops_error"`
	Duplicated        uint64 `json:"duplicated"`
	Corrupted         uint64 `json:"corrupted"`
	Reordered         uint64 `json:"reordered"`
}

// Stats is a snapshot of the relay's counters.
type Stats struct {
	Upstream        string `json:"upstream"`
	Sessions        int    `json:"sessions"`
	SessionsOpened  uint64 `json:"sessions_opened"`
	SessionsExpired uint64 `json:"sessions_expired"`
	// SessionsEvicted ended to make room for a new client while the
	// table was full (they had not held a two-way conversation).
	SessionsEvicted uint64   `json:"sessions_evicted"`
	Queued          int      `json:"queued"` // datagrams held by the impairment now
	Up              DirStats `json:"up"`
	Down            DirStats `json:"down"`
	// Lateness is how late delayed datagrams left against their due time.
	Lateness LatenessStats `json:"lateness"`
	// Warnings are the relay's own limits that touched its traffic (it
	// sent late); empty when none.
	Warnings []Warning `json:"warnings"`
}

// LatenessStats: how late the relay sent delayed datagrams, in ms; the
// figures are null until a delayed datagram has left.
type LatenessStats struct {
	Datagrams int64    `json:"datagrams"`
	MeanMs    *float64 `json:"mean_ms"`
	P50Ms     *float64 `json:"p50_ms"`
	P99Ms     *float64 `json:"p99_ms"`
	MaxMs     *float64 `json:"max_ms"`
}

// Warning is one self-limit that touched the relay's traffic.
type Warning struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// WarnLate is the kind of the lateness warning.
const WarnLate = "relay_late"

// LateWarnAfter is the p99 lateness above which the relay warns: the delay
// and jitter on the path are then no longer the configured ones.
const LateWarnAfter = time.Millisecond

func latenessStats(n int64, mean, p50, p99, mx time.Duration) (LatenessStats, []Warning) {
	ws := []Warning{}
	if n == 0 {
		return LatenessStats{}, ws
	}
	ms := func(d time.Duration) *float64 { v := float64(d) / 1e6; return &v }
	l := LatenessStats{Datagrams: n, MeanMs: ms(mean), P50Ms: ms(p50), P99Ms: ms(p99), MaxMs: ms(mx)}
	if p99 > LateWarnAfter {
		ws = append(ws, Warning{WarnLate, fmt.Sprintf("the relay sent delayed datagrams late: p99 %.3f ms, max %.3f ms after their due time (a busy CPU); the impairment is not what was configured",
			*l.P99Ms, *l.MaxMs)})
	}
	return l, ws
}

func (c *dirCounters) snapshot() DirStats {
	d := DirStats{
		Packets: c.packets.Load(), Bytes: c.bytes.Load(),
		PacketsOut: c.sent.Load(), BytesOut: c.sentBytes.Load(),
		DropsLoss: c.lost.Load(), DropsQueue: c.overflow.Load(),
		DropsSessionLimit: c.refused.Load(), DropsError: c.errors.Load(),
		Duplicated: c.duplicated.Load(), Corrupted: c.corrupted.Load(), Reordered: c.reordered.Load(),
	}
	d.Drops = d.DropsLoss + d.DropsQueue + d.DropsSessionLimit + d.DropsError
	return d
}

// Stats returns a snapshot of the counters; safe to call at any time.
func (r *Relay) Stats() Stats {
	lt := r.sched.Lateness()
	l, ws := latenessStats(lt.N, lt.Mean, lt.P50, lt.P99, lt.Max)
	return Stats{
		Lateness:        l,
		Warnings:        ws,
		Upstream:        r.upstream.String(),
		Sessions:        r.Sessions(),
		SessionsOpened:  r.c.opened.Load(),
		SessionsExpired: r.c.expired.Load(),
		SessionsEvicted: r.c.evicted.Load(),
		Queued:          r.sched.Len(),
		Up:              r.c.up.snapshot(),
		Down:            r.c.down.snapshot(),
	}
}

// relayDescs are the relay's metric descriptions.
type relayDescs struct {
	packets, bytes, packetsOut, bytesOut, drops, impaired, sessions, opened, expired, evicted, lateness *prometheus.Desc
}

// descs builds them on the first scrape rather than at init, which every
// socklab command would pay for (issue 15).
var descs = sync.OnceValue(func() relayDescs {
	return relayDescs{
		packets:    prometheus.NewDesc("socklab_udp_relay_packets_total", "Datagrams received by the UDP relay, by direction (up: client to upstream).", []string{"direction"}, nil),
		bytes:      prometheus.NewDesc("socklab_udp_relay_bytes_total", "Payload bytes received by the UDP relay, by direction.", []string{"direction"}, nil),
		packetsOut: prometheus.NewDesc("socklab_udp_relay_sent_packets_total", "Datagrams sent on by the UDP relay, duplicates included, by direction.", []string{"direction"}, nil),
		bytesOut:   prometheus.NewDesc("socklab_udp_relay_sent_bytes_total", "Payload bytes sent on by the UDP relay, by direction.", []string{"direction"}, nil),
		drops:      prometheus.NewDesc("socklab_udp_relay_drops_total", "Datagrams the UDP relay dropped, by direction and reason (loss, queue, session_limit, error).", []string{"direction", "reason"}, nil),
		impaired:   prometheus.NewDesc("socklab_udp_relay_impaired_total", "Datagrams duplicated, corrupted or reordered on purpose, by direction.", []string{"direction", "action"}, nil),
		sessions:   prometheus.NewDesc("socklab_udp_relay_sessions", "Live UDP relay sessions (one per client address).", nil, nil),
		opened:     prometheus.NewDesc("socklab_udp_relay_sessions_opened_total", "UDP relay sessions opened.", nil, nil),
		expired:    prometheus.NewDesc("socklab_udp_relay_sessions_expired_total", "UDP relay sessions ended by the idle timeout.", nil, nil),
		evicted:    prometheus.NewDesc("socklab_udp_relay_sessions_evicted_total", "UDP relay sessions not yet established ended to make room for a new client.", nil, nil),
		lateness:   prometheus.NewDesc("socklab_udp_relay_lateness_seconds", "How late the UDP relay sent delayed datagrams after their due time; above 1 ms at p99 the configured delay and jitter do not hold.", nil, nil),
	}
})

// collector exposes the relay's atomic counters as Prometheus metrics,
// read at scrape time so the datagram path pays no more than an atomic add.
type collector struct{ r *Relay }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	d := descs()
	for _, desc := range []*prometheus.Desc{d.packets, d.bytes, d.packetsOut, d.bytesOut, d.drops, d.impaired, d.sessions, d.opened, d.expired, d.evicted, d.lateness} {
		ch <- desc
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Stats()
	d := descs()
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	for _, dir := range []struct {
		name string
		d    DirStats
	}{{"up", s.Up}, {"down", s.Down}} {
		counter(d.packets, dir.d.Packets, dir.name)
		counter(d.bytes, dir.d.Bytes, dir.name)
		counter(d.packetsOut, dir.d.PacketsOut, dir.name)
		counter(d.bytesOut, dir.d.BytesOut, dir.name)
		counter(d.drops, dir.d.DropsLoss, dir.name, "loss")
		counter(d.drops, dir.d.DropsQueue, dir.name, "queue")
		counter(d.drops, dir.d.DropsSessionLimit, dir.name, "session_limit")
		counter(d.drops, dir.d.DropsError, dir.name, "error")
		counter(d.impaired, dir.d.Duplicated, dir.name, "duplicated")
		counter(d.impaired, dir.d.Corrupted, dir.name, "corrupted")
		counter(d.impaired, dir.d.Reordered, dir.name, "reordered")
	}
	ch <- prometheus.MustNewConstMetric(d.sessions, prometheus.GaugeValue, float64(s.Sessions))
	counter(d.opened, s.SessionsOpened)
	counter(d.expired, s.SessionsExpired)
	counter(d.evicted, s.SessionsEvicted)
	lt := c.r.sched.Lateness()
	q := map[float64]float64{}
	if lt.N > 0 {
		q = map[float64]float64{0.5: lt.P50.Seconds(), 0.99: lt.P99.Seconds(), 1: lt.Max.Seconds()}
	}
	ch <- prometheus.MustNewConstSummary(d.lateness, uint64(lt.N), lt.Mean.Seconds()*float64(lt.N), q)
}
