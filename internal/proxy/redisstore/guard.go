package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is what a Remote call returns while the tier is bypassed:
// Redis failed or timed out a moment ago and is left alone until
// Options.RetryAfter has passed.
var ErrUnavailable = errors.New("shared cache tier unavailable")

// guard bounds every Redis call and decides when to bypass the tier. After
// a failure it lets no call through for retryAfter, so a dead or hung
// Redis costs requests nothing instead of a timeout each; warnings are
// rate-limited to one per warnEvery with a count of those suppressed.
type guard struct {
	timeout    time.Duration
	retryAfter time.Duration
	warnEvery  time.Duration
	log        *slog.Logger
	now        func() time.Time

	downUntil  atomic.Int64 // unix ns; calls before it bypass
	lastWarn   atomic.Int64 // unix ns
	suppressed atomic.Uint64
	bypasses   atomic.Uint64 // calls skipped or failed
	failures   atomic.Uint64 // calls that reached Redis and failed
}

// bound derives the context a Redis call runs under: the caller's, cut to
// the tier's timeout.
func (g *guard) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, g.timeout)
}

// allow reports whether a call may go to Redis now; when not, it counts a
// bypass.
func (g *guard) allow() bool {
	if g.now().UnixNano() < g.downUntil.Load() {
		g.bypasses.Add(1)
		return false
	}
	return true
}

// up ends a cool-down early (the subscription reconnected).
func (g *guard) up() { g.downUntil.Store(0) }

// fail records a failed call. A caller that went away (its own ctx ended)
// says nothing about Redis and is not counted. Errors Redis replied with
// (OOM, a script error) are warned about but do not start a cool-down;
// connection errors and timeouts do.
func (g *guard) fail(parent context.Context, op string, err error) error {
	if parent.Err() != nil {
		return err
	}
	g.failures.Add(1)
	g.bypasses.Add(1)
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		g.downUntil.Store(g.now().Add(g.retryAfter).UnixNano())
	}
	g.warn("shared cache tier bypassed", "op", op, "err", err, "retry_after", g.retryAfter)
	return err
}

// warn logs at most once per warnEvery.
func (g *guard) warn(msg string, args ...any) {
	now := g.now().UnixNano()
	last := g.lastWarn.Load()
	if now-last < int64(g.warnEvery) || !g.lastWarn.CompareAndSwap(last, now) {
		g.suppressed.Add(1)
		return
	}
	if n := g.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	g.log.Warn(msg, args...)
}
