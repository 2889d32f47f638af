package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socklab/socklab/internal/icmp"
	"github.com/socklab/socklab/internal/qoswire"
)

// Defaults for the zero values of Config.
const (
	DefaultInterval = time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultHistory  = time.Hour
	DefaultStep     = 10 * time.Second
)

// Config describes a monitor. The zero value of every field is usable.
type Config struct {
	// Targets to probe from the start; SetTargets replaces them.
	Targets []Target
	// Interval between two probes of one target; zero means DefaultInterval.
	Interval time.Duration
	// Timeout after which an unanswered probe counts as lost (UDP, ICMP)
	// or an HTTP request fails; zero means DefaultTimeout.
	Timeout time.Duration
	// Size is the UDP probe size in bytes; zero means qoswire.HeaderLen.
	Size int
	// Insecure skips TLS certificate verification for https targets.
	Insecure bool
	// Registerer receives the socklab_monitor_* metrics; nil exports none.
	Registerer prometheus.Registerer
	// History is how far back Snapshot reaches, in buckets of Step; zero
	// means DefaultHistory and DefaultStep.
	History, Step time.Duration
	// ICMPSocket picks raw or datagram ICMP sockets (icmp.SocketAuto).
	ICMPSocket icmp.SocketMode
	// Now is the clock of the history; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings (a target that cannot be probed) and debug
	// notes; nil discards them.
	Logger *slog.Logger
}

// Monitor probes its targets until its Run's context ends.
type Monitor struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	updates chan []Target

	mu     sync.Mutex
	states map[string]*probeState
	order  []string
}

// New checks cfg and registers the metrics.
func New(cfg Config) (*Monitor, error) {
	if cfg.Interval < 0 || cfg.Timeout < 0 || cfg.Size < 0 || cfg.History < 0 || cfg.Step < 0 {
		return nil, errors.New("monitor: interval, timeout, size, history and step must not be negative")
	}
	cfg.Interval = orDefault(cfg.Interval, DefaultInterval)
	cfg.Timeout = orDefault(cfg.Timeout, DefaultTimeout)
	cfg.History = orDefault(cfg.History, DefaultHistory)
	cfg.Step = orDefault(cfg.Step, DefaultStep)
	if cfg.Size == 0 {
		cfg.Size = qoswire.HeaderLen
	}
	if cfg.Size < qoswire.HeaderLen || cfg.Size > qoswire.MaxSize {
		return nil, fmt.Errorf("monitor: udp probe size %d: must be %d..%d bytes", cfg.Size, qoswire.HeaderLen, qoswire.MaxSize)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Monitor{cfg: cfg, log: cfg.Logger, metrics: newMetrics(), updates: make(chan []Target, 1), states: map[string]*probeState{}}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Registerer != nil {
		for _, c := range m.metrics.collectors() {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("monitor: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// SetTargets replaces the targets: new ones start, removed ones stop and
// their series disappear, unchanged ones keep their counters. It may be
// called before or during Run.
func (m *Monitor) SetTargets(ts []Target) {
	select {
	case <-m.updates: // a newer list replaces one not applied yet
	default:
	}
	m.updates <- ts
}

// Snapshot returns every target's status and history, in target order.
func (m *Monitor) Snapshot() []Status {
	m.mu.Lock()
	states := make([]*probeState, 0, len(m.order))
	for _, n := range m.order {
		states = append(states, m.states[n])
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(states))
	for _, s := range states {
		out = append(out, s.snapshot())
	}
	return out
}

// running is a started prober.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Run probes until ctx ends, then waits for the probers to stop.
func (m *Monitor) Run(ctx context.Context) error {
	probers := map[string]*running{}
	defer func() {
		for _, r := range probers {
			r.cancel()
		}
		for _, r := range probers {
			<-r.done
		}
	}()
	m.apply(ctx, probers, m.cfg.Targets)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ts := <-m.updates:
			m.apply(ctx, probers, ts)
		}
	}
}

// apply starts the probers of new targets and stops those of removed ones.
func (m *Monitor) apply(ctx context.Context, probers map[string]*running, ts []Target) {
	want := map[string]Target{}
	var order []string
	for _, t := range ts {
		if _, dup := want[t.Name]; !dup {
			want[t.Name] = t
			order = append(order, t.Name)
		}
	}
	for name, r := range probers {
		if _, keep := want[name]; !keep {
			r.cancel()
			<-r.done
			delete(probers, name)
			m.metrics.forget(name)
			m.log.Info("monitor: target removed", "target", name)
		}
	}
	m.mu.Lock()
	for _, name := range order {
		if _, ok := probers[name]; ok {
			continue
		}
		t := want[name]
		st := newProbeState(t, m.metrics, m.cfg.History, m.cfg.Step, m.cfg.Now)
		m.states[name] = st
		pctx, cancel := context.WithCancel(ctx)
		r := &running{cancel: cancel, done: make(chan struct{})}
		probers[name] = r
		go func() {
			defer close(r.done)
			m.probe(pctx, t, st)
		}()
		m.log.Info("monitor: target added", "target", name)
	}
	for name := range m.states {
		if _, ok := want[name]; !ok {
			delete(m.states, name)
		}
	}
	m.order = order
	m.metrics.targets.Set(float64(len(order)))
	m.mu.Unlock()
}

func (m *Monitor) probe(ctx context.Context, t Target, st *probeState) {
	switch t.Kind {
	case KindUDP:
		m.probeUDP(ctx, t, st)
	case KindICMP:
		m.probeICMP(ctx, t, st)
	case KindHTTP:
		m.probeHTTP(ctx, t, st)
	}
}

// every calls f at once and then every interval until ctx ends, with the
// time of the call: a tick's own time can be stale when this goroutine ran
// late, which would age a probe before it was even sent.
func every(ctx context.Context, interval time.Duration, f func(time.Time)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	f(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			f(time.Now())
		}
	}
}
