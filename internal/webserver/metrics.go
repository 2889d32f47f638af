package webserver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/connlimit"
)

// metrics are the server's Prometheus series.
type metrics struct {
	requests     *prometheus.CounterVec
	bytes        prometheus.Counter
	duration     *prometheus.HistogramVec
	conns        prometheus.Gauge
	connsEvicted prometheus.Counter
	connsRefused prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socklab_serve_http_requests_total",
			Help: "HTTP requests answered, by method and status code.",
		}, []string{"method", "code"}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "socklab_serve_http_response_bytes_total",
			Help: "Response body bytes sent.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "socklab_serve_http_request_duration_seconds",
			Help:    "Time from request headers read to handler done, by method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "socklab_serve_http_connections",
			Help: "Open HTTP connections.",
		}),
		connsEvicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "socklab_serve_http_connections_evicted_total",
			Help: "Idle or stalled connections closed to make room under the connection cap.",
		}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "socklab_serve_http_connections_refused_total",
			Help: "Connections with a whole request head refused because every connection under the cap was busy.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.bytes, m.duration, m.conns, m.connsEvicted, m.connsRefused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registerWaiting adds the series of the connection cap's waiting room,
// read from the limiter at scrape time.
func (m *metrics) registerWaiting(reg prometheus.Registerer, l *connlimit.Limiter) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "socklab_serve_http_connections_shed_total",
			Help: "Connections closed unserved at the cap without a whole request head: waited out --read-header-timeout, overflowed the waiting room, or gone before a slot freed.",
		}, func() float64 { return float64(l.Stats().Shed) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "socklab_serve_http_connections_waiting",
			Help: "Connections without a whole request head held at the cap, waiting for a slot.",
		}, func() float64 { return float64(l.Stats().Waiting) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "socklab_serve_http_connections_promoted_total",
			Help: "Waiting connections handed to the server when a slot freed.",
		}, func() float64 { return float64(l.Stats().Promoted) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// methodLabel keeps the method label bounded: anything odd is "other".
// It returns constants only: m may alias a request buffer, and a label
// value is kept for the life of its series.
func methodLabel(m string) string {
	for _, known := range [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodOptions, http.MethodPatch, http.MethodConnect, http.MethodTrace} {
		if m == known {
			return known
		}
	}
	return "other"
}

func (m *metrics) observe(method string, code int, size int64, d time.Duration) {
	method = methodLabel(method)
	m.requests.WithLabelValues(method, statusLabel(code)).Inc()
	m.bytes.Add(float64(size))
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}

// statusLabel is the metrics label for a status code, without an
// allocation for the ones a static server sends.
func statusLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 206:
		return "206"
	case 301:
		return "301"
	case 304:
		return "304"
	case 400:
		return "400"
	case 404:
		return "404"
	case 405:
		return "405"
	case 412:
		return "412"
	case 416:
		return "416"
	}
	return strconv.Itoa(code)
}
