package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socklab/socklab/internal/errs"
	"github.com/socklab/socklab/internal/qoswire"
)

// Defaults for the zero values of Config.
const (
	DefaultClients     = 5 // the seed's multi-client simulation
	DefaultDuration    = 10 * time.Second
	DefaultHTTPTimeout = 10 * time.Second
	DefaultUDPTimeout  = time.Second
)

// Config describes a load run. The zero value of every field but Target is
// usable.
type Config struct {
	// Target is an http:// or https:// URL, or udp://host:port for a QoS
	// reflector or UDP echo (probes are qoswire packets).
	Target string
	// Clients is the number of concurrent clients, each with its own
	// connection (HTTP) or socket (UDP). Zero means DefaultClients.
	Clients int
	// Requests is the total number of requests (UDP: probes) over all
	// clients. Zero means no count limit.
	Requests int64
	// Duration bounds the run. When both Requests and Duration are zero the
	// run lasts DefaultDuration; when only Requests is set there is no time
	// limit.
	Duration time.Duration
	// Rate, when positive, switches to open loop: requests are due at a
	// fixed total Rate per second whatever the server does, and latency is
	// measured from the due time, so queueing behind a slow server counts.
	// Zero is closed loop: each client sends its next request as soon as the
	// previous one ended.
	Rate float64
	// Proxy is an HTTP proxy URL for HTTP targets; empty means direct.
	Proxy string
	// Method is the HTTP method; empty means GET.
	Method string
	// Header is added to every HTTP request ("Host" sets the Host line).
	Header http.Header
	// Body is sent with every HTTP request; nil sends none.
	Body []byte
	// Insecure skips TLS certificate verification.
	Insecure bool
	// Timeout bounds each HTTP request (zero: DefaultHTTPTimeout) or, for UDP, how long to wait for a reply before
	// the probe counts as lost (zero: DefaultUDPTimeout). It is also the grace
	// given to in-flight requests once the run is stopped.
	Timeout time.Duration
	// Size is the UDP probe size in bytes. Zero means qoswire.HeaderLen, the
	// smallest probe.
	Size int
	// Transport, when set, carries HTTP requests through net/http instead
	// of the engine's own HTTP/1.1 client (tests, custom dialers). Without
	// it, https through a proxy and SOCKS proxies also use net/http, with a
	// transport built by NewTransport.
	Transport http.RoundTripper
	// StartAt, when set, delays the first request to that wall-clock time,
	// so generators on several hosts (with synchronised clocks) start
	// together and their results merge over one window. A time already
	// past starts at once; the zero value starts at once.
	StartAt time.Time
	// OnLatency, when set, is called with every latency the run records,
	// from the client goroutines concurrently; it must be quick. Nil means
	// none. (Tests use it to check the histogram against raw samples.)
	OnLatency func(time.Duration)
	// Logger receives debug events; nil discards them.
	Logger *slog.Logger
}

// Load is one configured run; create it with New and start it with Run.
type Load struct {
	cfg   Config
	sched schedule
	proto string

	// HTTP: h1 when the engine's own client can do it, else net/http
	h1  *h1Target
	req *http.Request
	rt  http.RoundTripper
	own *http.Transport // closed after the run when we built it
	// UDP
	udpAddr string

	log *slog.Logger

	ran     atomic.Bool
	startNs atomic.Int64 // wall clock at start, Unix ns; 0 before Run
	next    atomic.Int64 // index of the next request in the schedule
	done    atomic.Int64
	failed  atomic.Int64
	// Open loop: requests that left later than lateAfter past their due
	// time, and the largest such lag (ns): the generator fell behind.
	lateSends atomic.Int64
	maxLag    atomic.Int64
}

// Validate reports whether New would accept cfg. Its errors wrap
// errs.ErrInvalidConfig.
func (cfg Config) Validate() error {
	if cfg.Clients < 0 {
		return errs.Invalidf("load: clients must be positive, not %d", cfg.Clients)
	}
	if cfg.Requests < 0 || cfg.Duration < 0 || cfg.Rate < 0 || cfg.Timeout < 0 || cfg.Size < 0 {
		return errs.Invalidf("load: requests, duration, rate, timeout and size must not be negative")
	}
	if rest, ok := strings.CutPrefix(cfg.Target, "udp://"); ok {
		if cfg.Size != 0 && (cfg.Size < qoswire.HeaderLen || cfg.Size > qoswire.MaxSize) {
			return errs.Invalidf("load: udp probe size %d: must be %d..%d bytes", cfg.Size, qoswire.HeaderLen, qoswire.MaxSize)
		}
		if cfg.Proxy != "" {
			return errs.Invalidf("load: a proxy applies to http targets; send udp to the relay's address instead")
		}
		u, err := url.Parse("udp://" + rest)
		if err != nil || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
			return errs.Invalidf("load: udp target %q: want udp://host:port", cfg.Target)
		}
		return nil
	}
	if _, err := parseHTTPTarget(cfg.Target); err != nil {
		return errs.Invalidf("load: %w", err)
	}
	if cfg.Proxy != "" {
		if _, err := ParseProxy(cfg.Proxy); err != nil {
			return errs.Invalidf("load: %w", err)
		}
	}
	return nil
}

// New validates cfg and prepares a run.
func New(cfg Config) (*Load, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clients == 0 {
		cfg.Clients = DefaultClients
	}
	if cfg.Requests == 0 && cfg.Duration == 0 {
		cfg.Duration = DefaultDuration
	}
	l := &Load{cfg: cfg, log: cfg.Logger}
	if l.log == nil {
		l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l.sched = schedule{rate: cfg.Rate, requests: cfg.Requests, duration: cfg.Duration}
	if rest, ok := strings.CutPrefix(cfg.Target, "udp://"); ok {
		return l, l.initUDP(rest)
	}
	return l, l.initHTTP()
}

func (l *Load) initHTTP() error {
	l.proto = "http"
	if l.cfg.Timeout == 0 {
		l.cfg.Timeout = DefaultHTTPTimeout
	}
	u, _ := parseHTTPTarget(l.cfg.Target) // Validate checked it
	method := l.cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := newRequest(method, u, l.cfg.Header)
	if err != nil {
		return errs.Invalidf("load: %w", err)
	}
	l.req = req
	l.rt = l.cfg.Transport
	if l.rt == nil {
		t, ok, err := newH1Target(u, method, req.Header, req.Host, l.cfg.Proxy, l.cfg.Insecure, l.cfg.Timeout)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if ok {
			if l.cfg.Body != nil {
				t.setBody(l.cfg.Body)
			}
			l.h1 = t
			return nil
		}
	}
	if l.rt == nil {
		tr, err := NewTransport(TransportConfig{Proxy: l.cfg.Proxy, Conns: l.cfg.Clients, Insecure: l.cfg.Insecure, Timeout: l.cfg.Timeout})
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		l.rt, l.own = tr, tr
	}
	return nil
}

func (l *Load) initUDP(hostport string) error {
	l.proto = "udp"
	if l.cfg.Timeout == 0 {
		l.cfg.Timeout = DefaultUDPTimeout
	}
	if l.cfg.Size == 0 {
		l.cfg.Size = qoswire.HeaderLen
	}
	u, _ := url.Parse("udp://" + hostport) // Validate checked it
	l.udpAddr = u.Host
	return nil
}

// newRequest builds the request every client clones once and then reuses:
// a request without a body may be sent again once its response body is
// closed, which saves an allocation per request.
func newRequest(method string, u *url.URL, h http.Header) (*http.Request, error) {
	req, err := http.NewRequest(method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range h {
		if http.CanonicalHeaderKey(k) == "Host" {
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "socklab-load")
	}
	return req, nil
}

// Progress is a snapshot of a running load, safe to take from any goroutine.
type Progress struct {
	Done     int64         // requests finished (UDP: probes sent)
	Errors   int64         // of which failed
	Elapsed  time.Duration // since the start; 0 before Run
	Requests int64         // planned total; 0 when only time-bound
	Duration time.Duration // planned length; 0 when only count-bound
}

// Fraction estimates how far the run is, in [0, 1].
func (p Progress) Fraction() float64 {
	var f float64
	if p.Requests > 0 {
		f = float64(p.Done) / float64(p.Requests)
	}
	if p.Duration > 0 {
		f = max(f, float64(p.Elapsed)/float64(p.Duration))
	}
	return min(f, 1)
}

// Progress reports how far the run is.
func (l *Load) Progress() Progress {
	p := Progress{Done: l.done.Load(), Errors: l.failed.Load(), Requests: l.cfg.Requests, Duration: l.cfg.Duration}
	if s := l.startNs.Load(); s != 0 {
		p.Elapsed = time.Since(time.Unix(0, s))
	}
	return p
}

// Config returns the configuration with defaults filled in.
func (l *Load) Config() Config { return l.cfg }

// Run sends the load and returns the aggregated result. Cancelling ctx stops
// new requests; those in flight get Config.Timeout to finish, and the result
// covers everything sent. Network failures are counted in the Result, not
// returned: the error is for a run that could not happen at all.
func (l *Load) Run(ctx context.Context) (*Result, error) {
	if !l.ran.CompareAndSwap(false, true) {
		return nil, errors.New("load: Run called twice")
	}
	if l.own != nil {
		defer l.own.CloseIdleConnections()
	}
	if err := waitUntil(ctx, l.cfg.StartAt); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	stopNow := func() { stopOnce.Do(func() { close(stop) }) }
	// In-flight requests outlive the stop by at most Timeout.
	hardCtx, hardCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hardCancel()
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			stopNow()
		case <-stop:
		case <-finished:
			return
		}
		grace := time.NewTimer(l.cfg.Timeout)
		defer grace.Stop()
		select {
		case <-grace.C:
			hardCancel()
		case <-finished:
		}
	}()

	start := time.Now()
	l.startNs.Store(start.UnixNano())
	if l.cfg.Duration > 0 {
		// Closed loop stops at the duration. In open loop the schedule itself
		// ends there, and requests that fell behind are still sent (their
		// lateness is what the latency must show), for at most Timeout more.
		end := l.cfg.Duration
		if l.sched.open() {
			end += l.cfg.Timeout
		}
		t := time.AfterFunc(end, stopNow)
		defer t.Stop()
	}
	l.log.Debug("load start", "target", l.cfg.Target, "clients", l.cfg.Clients, "requests", l.cfg.Requests,
		"duration", l.cfg.Duration, "rate", l.cfg.Rate)

	clients := make([]*clientStats, l.cfg.Clients)
	var wg sync.WaitGroup
	for i := range clients {
		c := newClientStats()
		clients[i] = c
		wg.Go(func() {
			if l.proto == "udp" {
				l.runUDP(hardCtx, stop, c, start)
			} else {
				l.runHTTP(hardCtx, stop, c, start)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(finished)
	stopNow()
	// Open loop: the rate is over the schedule, not over the last send or
	// the wait for the last reply (2 req/s for 1 s is 2 req/s, not 2
	// requests over the 0.5 s between the first and the last). A run
	// stopped before its schedule ended counts over the time it ran.
	rateSpan := elapsed
	if span := l.sched.span(); span > 0 && ctx.Err() == nil {
		rateSpan = span
	}
	r := l.merge(clients, start, elapsed, rateSpan)
	r.Warnings = l.warnings(r)
	l.log.Debug("load done", "requests", r.Requests, "elapsed", elapsed)
	return r, nil
}

// ErrStoppedBeforeStart is returned by Run when it was stopped while
// waiting for Config.StartAt: nothing was sent, so there is no result.
var ErrStoppedBeforeStart = errors.New("load: stopped before the start time")

// waitUntil sleeps until the wall clock reaches at, or ctx ends.
func waitUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if at.IsZero() || d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ErrStoppedBeforeStart
	}
}

// nextDue takes the next request off the schedule and waits for its due
// time (open loop). It returns the time the request's latency is measured
// from, or ok=false when the run is over or stopped.
func (l *Load) nextDue(stop <-chan struct{}, start time.Time, timer *time.Timer) (t0 time.Time, ok bool) {
	select {
	case <-stop:
		return time.Time{}, false
	default:
	}
	if !l.sched.open() && l.sched.requests == 0 {
		// Closed loop bounded by time only: every request is due now, and
		// skipping the shared counter saves a contended atomic per request.
		return time.Now(), true
	}
	at, ok := l.sched.due(l.next.Add(1) - 1)
	if !ok {
		return time.Time{}, false
	}
	if !l.sched.open() {
		return time.Now(), true
	}
	t0 = start.Add(at)
	if d := time.Until(t0); d > 0 {
		timer.Reset(d)
		select {
		case <-timer.C:
		case <-stop:
			return time.Time{}, false
		}
	}
	l.noteLag(time.Since(t0))
	return t0, true
}

// noteLag counts an open-loop request that left late: more than a
// millisecond, or one request interval, after its due time.
func (l *Load) noteLag(lag time.Duration) {
	if lag <= max(time.Millisecond, time.Duration(float64(time.Second)/l.sched.rate)) {
		return
	}
	l.lateSends.Add(1)
	for {
		m := l.maxLag.Load()
		if int64(lag) <= m || l.maxLag.CompareAndSwap(m, int64(lag)) {
			return
		}
	}
}

// newStoppedTimer returns a timer for nextDue to Reset.
func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
