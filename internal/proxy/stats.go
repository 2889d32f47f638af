package proxy

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/connlimit"
)

// counters are the engine's running totals.
type counters struct {
	requests       atomic.Uint64
	hits           atomic.Uint64
	misses         atomic.Uint64
	revalidated    atomic.Uint64 // 304 from upstream refreshed an entry
	staleServed    atomic.Uint64
	coalesced      atomic.Uint64 // requests answered by another's miss
	stored         atomic.Uint64
	upstreamErrors atomic.Uint64
	denied         atomic.Uint64
	purges         atomic.Uint64
	tunnels        atomic.Uint64
	tunnelsActive  atomic.Int64
	fastHits       atomic.Uint64 // hits the front answered itself (not reported; tests)
	direct         atomic.Uint64 // requests the front served with the handler, unbridged (not reported; tests)
}

// Stats is a snapshot of the proxy's counters and its store's.
type Stats struct {
	Requests       uint64  `json:"requests"`
	Hits           uint64  `json:"hits"`
	Misses         uint64  `json:"misses"`
	HitRatio       float64 `json:"hit_ratio"`
	Revalidated    uint64  `json:"revalidated"`
	StaleServed    uint64  `json:"stale_served"`
	Coalesced      uint64  `json:"coalesced"`
	Stores         uint64  `json:"stores"`
	UpstreamErrors uint64  `json:"upstream_errors"`
	Denied         uint64  `json:"denied"`
	Purges         uint64  `json:"purges"`
	Tunnels        uint64  `json:"tunnels"`
	TunnelsActive  int64   `json:"tunnels_active"`
	// Conns are the client connections under the cap (MaxConns).
	Conns connlimit.Stats `json:"conns"`
	StoreStats
}

// Stats returns the current counters.
func (p *Proxy) Stats() Stats {
	c := &p.counters
	s := Stats{
		Requests: c.requests.Load(), Hits: c.hits.Load(), Misses: c.misses.Load(),
		Revalidated: c.revalidated.Load(), StaleServed: c.staleServed.Load(), Coalesced: c.coalesced.Load(),
		Stores: c.stored.Load(), UpstreamErrors: c.upstreamErrors.Load(), Denied: c.denied.Load(),
		Purges: c.purges.Load(), Tunnels: c.tunnels.Load(), TunnelsActive: c.tunnelsActive.Load(),
		Conns: p.conns.Stats(),
	}
	if n := s.Hits + s.Misses; n > 0 {
		s.HitRatio = float64(s.Hits) / float64(n)
	}
	if p.cache != nil {
		s.StoreStats = p.cache.store.Stats()
	}
	return s
}

// collector exposes Stats to Prometheus, read at scrape time so the hot
// path only bumps atomics.
type collector struct{ p *Proxy }

var (
	descRevalid   = prometheus.NewDesc("socklab_proxy_revalidations_total", "Stored responses refreshed by a 304 from upstream.", nil, nil)
	descStale     = prometheus.NewDesc("socklab_proxy_stale_served_total", "Stale responses served (max-stale, stale-while-revalidate, stale-if-error).", nil, nil)
	descCoalesced = prometheus.NewDesc("socklab_proxy_coalesced_total", "Requests answered by another request's upstream fetch.", nil, nil)
	descUpErr     = prometheus.NewDesc("socklab_proxy_upstream_errors_total", "Upstream failures answered with 502 or 504.", nil, nil)
	descDenied    = prometheus.NewDesc("socklab_proxy_denied_total", "Requests refused by the access control lists.", nil, nil)
	descTunnels   = prometheus.NewDesc("socklab_proxy_tunnels_total", "CONNECT tunnels opened.", nil, nil)
	descTunActive = prometheus.NewDesc("socklab_proxy_tunnels_active", "CONNECT tunnels open now.", nil, nil)
	descObjects   = prometheus.NewDesc("socklab_proxy_cache_objects", "Objects in the cache store.", nil, nil)
	descBytes     = prometheus.NewDesc("socklab_proxy_cache_bytes", "Bytes in the cache store, bodies and headers.", nil, nil)
	descCapacity  = prometheus.NewDesc("socklab_proxy_cache_capacity_bytes", "Bound of the cache store.", nil, nil)
	descEvictions = prometheus.NewDesc("socklab_proxy_cache_evictions_total", "Objects evicted to stay under the bound.", nil, nil)
	descConns     = prometheus.NewDesc("socklab_proxy_connections", "Open client connections under --max-conns.", nil, nil)
	descConnEvict = prometheus.NewDesc("socklab_proxy_connections_evicted_total", "Idle or stalled client connections closed to make room under the connection cap.", nil, nil)
	descConnRefus = prometheus.NewDesc("socklab_proxy_connections_refused_total", "Client connections with a whole request head refused because every connection under the cap was busy.", nil, nil)
	descConnShed  = prometheus.NewDesc("socklab_proxy_connections_shed_total", "Client connections closed unserved at the cap without a whole request head: waited out the header timeout, overflowed the waiting room, or gone before a slot freed.", nil, nil)
	descConnWait  = prometheus.NewDesc("socklab_proxy_connections_waiting", "Client connections without a whole request head held at the cap, waiting for a slot.", nil, nil)
	descConnPromo = prometheus.NewDesc("socklab_proxy_connections_promoted_total", "Waiting client connections handed to the proxy when a slot freed.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRevalid, descStale, descCoalesced, descUpErr, descDenied, descTunnels, descTunActive, descObjects, descBytes, descCapacity, descEvictions,
		descConns, descConnEvict, descConnRefus, descConnShed, descConnWait, descConnPromo} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.p.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(descRevalid, s.Revalidated)
	counter(descStale, s.StaleServed)
	counter(descCoalesced, s.Coalesced)
	counter(descUpErr, s.UpstreamErrors)
	counter(descDenied, s.Denied)
	counter(descTunnels, s.Tunnels)
	gauge(descTunActive, float64(s.TunnelsActive))
	gauge(descObjects, float64(s.Objects))
	gauge(descBytes, float64(s.Bytes))
	gauge(descCapacity, float64(s.CapacityBytes))
	counter(descEvictions, s.Evictions)
	gauge(descConns, float64(s.Conns.Open))
	counter(descConnEvict, s.Conns.Evicted)
	counter(descConnRefus, s.Conns.Refused)
	counter(descConnShed, s.Conns.Shed)
	gauge(descConnWait, float64(s.Conns.Waiting))
	counter(descConnPromo, s.Conns.Promoted)
}
