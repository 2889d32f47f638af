package redisstore

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/proxy"
)

// Stats are the shared tier's counters, for /_socklab/stats (under
// "shared_tier") and the metrics.
type Stats struct {
	Redis                 string           `json:"redis"`
	Subscribed            bool             `json:"subscribed"`
	L1                    proxy.StoreStats `json:"l1"`
	L1Hits                uint64           `json:"l1_hits"`
	L1Misses              uint64           `json:"l1_misses"`
	L2Hits                uint64           `json:"l2_hits"`
	L2Misses              uint64           `json:"l2_misses"`
	L2Incomplete          uint64           `json:"l2_incomplete"` // a chunk was missing: served as a miss
	L2Corrupt             uint64           `json:"l2_corrupt"`
	L2Stores              uint64           `json:"l2_stores"`
	L2Deletes             uint64           `json:"l2_deletes"`
	L2BytesRead           uint64           `json:"l2_bytes_read"`
	L2BytesWritten        uint64           `json:"l2_bytes_written"`
	Bypasses              uint64           `json:"bypasses"` // calls skipped or failed: Redis down or slow
	Failures              uint64           `json:"failures"` // calls that reached Redis and failed or timed out
	InvalidationsSent     uint64           `json:"invalidations_sent"`
	InvalidationsReceived uint64           `json:"invalidations_received"`
	Resyncs               uint64           `json:"resyncs"` // L1 cleared after the subscription came back
	LocksWon              uint64           `json:"locks_won"`
	LocksContended        uint64           `json:"locks_contended"`
}

// TierStats returns the current counters.
func (t *Tiered) TierStats() Stats {
	r := t.l2
	return Stats{
		Redis: r.url, Subscribed: t.subUp.Load(), L1: t.Stats(),
		L1Hits: t.l1Hits.Load(), L1Misses: t.l1Misses.Load(),
		L2Hits: r.hits.Load(), L2Misses: r.misses.Load(), L2Incomplete: r.incomplete.Load(), L2Corrupt: r.corrupt.Load(),
		L2Stores: r.stores.Load(), L2Deletes: r.deletes.Load(), L2BytesRead: r.bytesRead.Load(), L2BytesWritten: r.bytesSent.Load(),
		Bypasses: r.g.bypasses.Load(), Failures: r.g.failures.Load(),
		InvalidationsSent: r.published.Load(), InvalidationsReceived: t.received.Load(), Resyncs: t.resyncs.Load(),
		LocksWon: r.lockWon.Load(), LocksContended: r.lockLost.Load(),
	}
}

// Collector exposes TierStats to Prometheus, read at scrape time.
func (t *Tiered) Collector() prometheus.Collector { return &collector{t: t} }

type collector struct{ t *Tiered }

var (
	descLookups  = prometheus.NewDesc("socklab_proxy_shared_tier_lookups_total", "Shared-tier lookups by tier (l1, l2) and result (hit, miss).", []string{"tier", "result"}, nil)
	descBypass   = prometheus.NewDesc("socklab_proxy_shared_tier_bypass_total", "Shared-tier calls skipped or failed because Redis was down or slow.", nil, nil)
	descFailures = prometheus.NewDesc("socklab_proxy_shared_tier_failures_total", "Redis calls that failed or timed out.", nil, nil)
	descIncompl  = prometheus.NewDesc("socklab_proxy_shared_tier_incomplete_total", "Entries found without all their chunks, served as misses.", nil, nil)
	descStores   = prometheus.NewDesc("socklab_proxy_shared_tier_stores_total", "Entries written to Redis.", nil, nil)
	descInval    = prometheus.NewDesc("socklab_proxy_shared_tier_invalidations_total", "Invalidation messages by direction (sent, received).", []string{"direction"}, nil)
	descResyncs  = prometheus.NewDesc("socklab_proxy_shared_tier_resyncs_total", "L1 clears after the invalidation subscription came back.", nil, nil)
	descUp       = prometheus.NewDesc("socklab_proxy_shared_tier_subscribed", "1 while the invalidation subscription is up.", nil, nil)
	descL1Bytes  = prometheus.NewDesc("socklab_proxy_shared_tier_l1_bytes", "Bytes in the L1 memory store.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLookups, descBypass, descFailures, descIncompl, descStores, descInval, descResyncs, descUp, descL1Bytes} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.t.TierStats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descLookups, s.L1Hits, "l1", "hit")
	counter(descLookups, s.L1Misses, "l1", "miss")
	counter(descLookups, s.L2Hits, "l2", "hit")
	counter(descLookups, s.L2Misses, "l2", "miss")
	counter(descBypass, s.Bypasses)
	counter(descFailures, s.Failures)
	counter(descIncompl, s.L2Incomplete)
	counter(descStores, s.L2Stores)
	counter(descInval, s.InvalidationsSent, "sent")
	counter(descInval, s.InvalidationsReceived, "received")
	counter(descResyncs, s.Resyncs)
	up := 0.0
	if s.Subscribed {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descL1Bytes, prometheus.GaugeValue, float64(s.L1.Bytes))
}
