package proxy

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// reqMetrics are the per-request series, observed where the access log
// entry is made so they count exactly what the log shows.
type reqMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newReqMetrics(reg prometheus.Registerer) (*reqMetrics, error) {
	m := &reqMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "socklab_proxy_requests_total",
			Help: "HTTP requests handled by the proxy, by cache verdict (hit, miss, tunnel, none), method and status class (2xx...).",
		}, []string{"cache", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "socklab_proxy_request_duration_seconds",
			Help:    "Time from request headers read to the last response byte, by method and cache verdict.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "cache"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *reqMetrics) observe(e AccessEntry) {
	method, cache := methodLabel(e.Method), cacheLabel(e.Cache)
	m.requests.WithLabelValues(cache, method, statusClass(e.Status)).Inc()
	m.duration.WithLabelValues(method, cache).Observe(e.Duration.Seconds())
}

// methodLabel keeps the method label bounded: anything odd is "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodOptions, http.MethodPatch, http.MethodConnect, http.MethodTrace, "PURGE":
		return m
	}
	return "other"
}

func cacheLabel(v string) string {
	if v == "" {
		return "none"
	}
	return strings.ToLower(v)
}

// statusClass is "2xx" for 200..299 and so on: five values, not hundreds.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}
