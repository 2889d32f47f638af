package monitor

import "github.com/prometheus/client_golang/prometheus"

// metrics are the socklab_monitor_* series, labelled by target.
type metrics struct {
	rtt        *prometheus.HistogramVec
	sent       *prometheus.CounterVec
	received   *prometheus.CounterVec
	lost       *prometheus.CounterVec
	lostDir    *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	reordered  *prometheus.CounterVec
	jitter     *prometheus.GaugeVec
	up         *prometheus.GaugeVec
	errors     *prometheus.CounterVec
	httpStatus *prometheus.CounterVec
	targets    prometheus.Gauge
}

// Metric names, for the dashboard test and the README.
const (
	MetricRTT          = "socklab_monitor_rtt_seconds"
	MetricSent         = "socklab_monitor_probes_sent_total"
	MetricReceived     = "socklab_monitor_probes_received_total"
	MetricLost         = "socklab_monitor_probes_lost_total"
	MetricLostDir      = "socklab_monitor_probes_lost_direction_total"
	MetricDuplicates   = "socklab_monitor_duplicates_total"
	MetricReordered    = "socklab_monitor_reordered_total"
	MetricJitter       = "socklab_monitor_jitter_seconds"
	MetricUp           = "socklab_monitor_up"
	MetricProbeErrors  = "socklab_monitor_probe_errors_total"
	MetricHTTPStatus   = "socklab_monitor_http_responses_total"
	MetricTargetsGauge = "socklab_monitor_targets"
)

func newMetrics() *metrics {
	t := []string{"target"}
	return &metrics{
		// 50 µs to ~26 s by doubling, as smokeping_prober.
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricRTT,
			Help:    "Round-trip time of answered probes (UDP: minus the reflector's dwell; HTTP: the whole GET).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 20)}, t),
		sent:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricSent, Help: "Probes sent."}, t),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricReceived, Help: "Probes answered within the timeout (first replies)."}, t),
		lost:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricLost, Help: "Probes without an answer within the timeout (HTTP: failed requests)."}, t),
		lostDir: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricLostDir,
			Help: "UDP probes lost, by direction: up (never reached the reflector) or down (reflected, reply lost), from the reflector's receive count; attributed once a later reply shows it."},
			[]string{"target", "direction"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricDuplicates, Help: "Duplicate replies."}, t),
		reordered:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricReordered, Help: "Replies that arrived after a later probe's reply (RFC 4737)."}, t),
		jitter: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricJitter,
			Help: "RFC 3550 interarrival jitter: direction up and down for UDP (reflector timestamps), round_trip (of the RTT) for ICMP and HTTP."},
			[]string{"target", "direction"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricUp, Help: "1 when the last probe was answered, 0 otherwise."}, t),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricProbeErrors,
			Help: "Probes that could not be sent or failed locally, by kind (not counted as path loss when never sent)."},
			[]string{"target", "kind"}),
		httpStatus: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricHTTPStatus, Help: "HTTP probe responses by status code."},
			[]string{"target", "code"}),
		targets: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricTargetsGauge, Help: "Targets being probed."}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.rtt, m.sent, m.received, m.lost, m.lostDir, m.duplicates, m.reordered,
		m.jitter, m.up, m.errors, m.httpStatus, m.targets}
}

// forget drops every series of a removed target.
func (m *metrics) forget(target string) {
	l := prometheus.Labels{"target": target}
	m.rtt.DeletePartialMatch(l)
	m.sent.DeletePartialMatch(l)
	m.received.DeletePartialMatch(l)
	m.lost.DeletePartialMatch(l)
	m.lostDir.DeletePartialMatch(l)
	m.duplicates.DeletePartialMatch(l)
	m.reordered.DeletePartialMatch(l)
	m.jitter.DeletePartialMatch(l)
	m.up.DeletePartialMatch(l)
	m.errors.DeletePartialMatch(l)
	m.httpStatus.DeletePartialMatch(l)
}
