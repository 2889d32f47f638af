package load

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/socklab/socklab/internal/load/loadresult"
	"github.com/socklab/socklab/internal/stats"
)

// The result types live in loadresult, which opens no socket, so that
// internal/report can render them without importing this engine.
type (
	Result       = loadresult.Result
	Latency      = loadresult.Latency
	CacheStats   = loadresult.CacheStats
	UDPStats     = loadresult.UDPStats
	ClientResult = loadresult.ClientResult
	Warning      = loadresult.Warning
)

// Warning kinds.
const (
	WarnBehindSchedule = loadresult.WarnBehindSchedule
	WarnReflectorCap   = loadresult.WarnReflectorCap
)

// warnings lists the self-limits that touched r; never nil.
func (l *Load) warnings(r *Result) []Warning {
	w := []Warning{}
	if n := l.lateSends.Load(); n > 0 {
		w = append(w, Warning{Kind: WarnBehindSchedule, Message: fmt.Sprintf("sender behind schedule: %d of %d requests left late (up to %s after their due time); their wait is in the latency",
			n, r.Requests, time.Duration(l.maxLag.Load()).Round(time.Microsecond))})
	}
	if n := r.Errors[KindReflectorCap]; n > 0 {
		w = append(w, Warning{Kind: WarnReflectorCap, Message: fmt.Sprintf("the reflector's rate cap dropped %d probes (counted as %s, not %s): raise its cap or lower the load", n, KindReflectorCap, KindLost)})
	}
	return w
}

// clientStats is what one client goroutine accumulates; only that goroutine
// writes it, so no lock is needed until the merge.
type clientStats struct {
	requests, successes, bytes  int64
	errors                      map[string]int64
	messages                    map[string]int64
	status                      map[int]int64
	hits, revalidated, verdicts int64
	hist                        *stats.Histogram
	udp                         *UDPStats
}

func newClientStats() *clientStats {
	return &clientStats{errors: map[string]int64{}, status: map[int]int64{}, hist: stats.NewHistogram()}
}

func (c *clientStats) fail(kind string) { c.errors[kind]++ }

// ErrorMessage is one distinct error message and its count.
type ErrorMessage = loadresult.ErrorMessage

const (
	// maxMessages bounds the distinct messages a client keeps, so a run
	// whose errors all differ stays in bounded memory.
	maxMessages = 64
	// TopMessages is how many distinct messages a Result lists.
	TopMessages = 10
	// otherMessages counts messages past maxMessages.
	otherMessages = "(other messages)"
)

// localAddr matches the local half of "tcp 127.0.0.1:41234->127.0.0.1:80":
// the ephemeral port differs on every connection and would make every
// message distinct. It compiles on first use, not at every command's start.
var localAddr = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\S+->`) })

// errorMessage is err's text without the local address.
func errorMessage(err error) string { return localAddr().ReplaceAllString(err.Error(), "") }

// failErr counts a transport error by kind and by message.
func (c *clientStats) failErr(err error) {
	c.fail(ErrorKind(err))
	if c.messages == nil {
		c.messages = map[string]int64{}
	}
	msg := errorMessage(err)
	if _, seen := c.messages[msg]; !seen && len(c.messages) >= maxMessages {
		msg = otherMessages
	}
	c.messages[msg]++
}

// topMessages returns the n most frequent messages, ties in text order.
func topMessages(m map[string]int64, n int) []ErrorMessage {
	out := make([]ErrorMessage, 0, len(m))
	for k, v := range m {
		out = append(out, ErrorMessage{Message: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Message < out[j].Message
	})
	return out[:min(n, len(out))]
}

func latencyOf(h *stats.Histogram) Latency { return loadresult.LatencyOf(h) }

// merge folds the clients into one Result; rates are over rateSpan.
func (l *Load) merge(clients []*clientStats, start time.Time, elapsed, rateSpan time.Duration) *Result {
	r := &Result{
		Target:     l.cfg.Target,
		Protocol:   l.proto,
		Mode:       "closed",
		Clients:    len(clients),
		Rate:       l.cfg.Rate,
		Proxy:      l.cfg.Proxy,
		DurationMs: float64(elapsed) / 1e6,
		Errors:     map[string]int64{},
		StartedAt:  start.UTC(),
		Hist:       stats.NewHistogram(),
	}
	if l.sched.open() {
		r.Mode = "open"
	}
	status := map[int]int64{}
	messages := map[string]int64{}
	var hits, revalidated, verdicts int64
	for i, c := range clients {
		r.Requests += c.requests
		r.Successes += c.successes
		r.Bytes += c.bytes
		for k, v := range c.errors {
			r.Errors[k] += v
		}
		for k, v := range c.status {
			status[k] += v
		}
		for k, v := range c.messages {
			messages[k] += v
		}
		hits += c.hits
		revalidated += c.revalidated
		verdicts += c.verdicts
		r.Hist.Merge(c.hist)
		cr := ClientResult{
			ID: i + 1, Requests: c.requests, Successes: c.successes, Bytes: c.bytes,
			Latency: latencyOf(c.hist), CacheHits: c.hits, UDP: c.udp,
		}
		if len(c.errors) > 0 {
			cr.Errors = c.errors
		}
		r.PerClient = append(r.PerClient, cr)
		if c.udp != nil {
			if r.UDP == nil {
				r.UDP = &UDPStats{}
			}
			r.UDP.Sent += c.udp.Sent
			r.UDP.Received += c.udp.Received
			r.UDP.Lost += c.udp.Lost
			r.UDP.Duplicates += c.udp.Duplicates
		}
	}
	for _, v := range r.Errors {
		r.Failures += v
	}
	r.ErrorMessages = topMessages(messages, TopMessages)
	if len(status) > 0 {
		r.StatusCodes = map[string]int64{}
		for k, v := range status {
			r.StatusCodes[strconv.Itoa(k)] = v
		}
	}
	if r.UDP != nil {
		r.UDP.LossPct = stats.LossPct(r.UDP.Sent, r.UDP.Received)
	}
	if verdicts > 0 {
		r.Cache = &CacheStats{Hits: hits, Revalidated: revalidated, Misses: verdicts - hits, HitRatio: float64(hits) / float64(verdicts)}
	}
	if s := rateSpan.Seconds(); s > 0 {
		r.RequestsPerSec = float64(r.Requests) / s
		r.BytesPerSec = float64(r.Bytes) / s
		r.ThroughputBps = r.BytesPerSec * 8
	}
	r.Latency = latencyOf(r.Hist)
	return r
}
