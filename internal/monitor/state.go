package monitor

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/monitor/monitorresult"
)

// Status and Bucket live in monitorresult, which opens no socket, so that
// internal/report can draw them without importing this engine.
type (
	Status = monitorresult.Status
	Bucket = monitorresult.Bucket
)

// probeState is what the probers of one target report to: it feeds the
// metrics, the counters and the history under one lock.
type probeState struct {
	now func() time.Time

	mu   sync.Mutex
	st   Status
	hist *history

	rtt                                   prometheus.Observer
	sent, received, lost, dups, reordered prometheus.Counter
	lostUp, lostDown                      prometheus.Counter
	up                                    prometheus.Gauge
	jitter                                *prometheus.GaugeVec // curried by target; set at the first reply
	errs                                  *prometheus.CounterVec
	status                                *prometheus.CounterVec
}

func newProbeState(t Target, m *metrics, span, step time.Duration, now func() time.Time) *probeState {
	n := t.Name
	s := &probeState{now: now, st: Status{Target: n, Kind: t.Kind}, hist: newHistory(span, step),
		rtt: m.rtt.WithLabelValues(n), sent: m.sent.WithLabelValues(n), received: m.received.WithLabelValues(n),
		lost: m.lost.WithLabelValues(n), dups: m.duplicates.WithLabelValues(n), reordered: m.reordered.WithLabelValues(n),
		up: m.up.WithLabelValues(n), jitter: m.jitter.MustCurryWith(prometheus.Labels{"target": n}),
		errs: m.errors.MustCurryWith(prometheus.Labels{"target": n}),
	}
	// Series that only mean something for one kind are created for that
	// kind only, and the jitter gauges at the first reply, so a dashboard
	// does not show a flat zero where there is no figure at all.
	if t.Kind == KindUDP {
		s.lostUp, s.lostDown = m.lostDir.WithLabelValues(n, "up"), m.lostDir.WithLabelValues(n, "down")
	}
	if t.Kind == KindHTTP {
		s.status = m.httpStatus.MustCurryWith(prometheus.Labels{"target": n})
	}
	return s
}

func (s *probeState) onSent(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Sent++
	s.sent.Inc()
	s.hist.sent(at)
}

func (s *probeState) onReply(sentAt time.Time, rtt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Received++
	s.st.LastRTT = rtt
	s.st.Up = true
	s.received.Inc()
	s.rtt.Observe(rtt.Seconds())
	s.up.Set(1)
	s.hist.reply(sentAt, rtt)
}

func (s *probeState) onLost(sentAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Lost++
	s.st.Up = false
	s.lost.Inc()
	s.up.Set(0)
	s.hist.lost(sentAt)
}

// onLostDirection attributes up and down losses (UDP).
func (s *probeState) onLostDirection(up, down int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.LostUp += up
	s.st.LostDown += down
	s.lostUp.Add(float64(up))
	s.lostDown.Add(float64(down))
}

func (s *probeState) onDuplicate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Duplicates++
	s.dups.Inc()
}

func (s *probeState) onReordered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Reordered++
	s.reordered.Inc()
}

// onJitter records the current RFC 3550 estimates in nanoseconds.
func (s *probeState) onJitter(up, down float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.JitterUp, s.st.JitterDown = time.Duration(up), time.Duration(down)
	s.jitter.WithLabelValues("up").Set(up / 1e9)
	s.jitter.WithLabelValues("down").Set(down / 1e9)
}

func (s *probeState) onJitterRoundTrip(ns float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.JitterRoundTrip = time.Duration(ns)
	s.jitter.WithLabelValues("round_trip").Set(ns / 1e9)
}

// onError counts a local failure by kind; err may be nil.
func (s *probeState) onError(kind string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.LastError = kind
	if err != nil {
		s.st.LastError = err.Error()
	}
	s.errs.WithLabelValues(kind).Inc()
}

func (s *probeState) onHTTPStatus(code string) {
	s.status.WithLabelValues(code).Inc()
}

func (s *probeState) snapshot() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.History = s.hist.window(s.now())
	return st
}
