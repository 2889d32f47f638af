package stack

import (
	"context"
	"errors"
	"sync"
)

// Group is the one supervisor of running servers ("socklab serve", "socklab
// proxy" and the demo): Go runs a service under the Group's context; the
// first service to fail, or the parent context ending, cancels them all,
// and each engine's Serve then drains for its own grace period. Wait
// returns once every service has returned, with their errors joined.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	errs   []error
	after  []func() // run by Wait once the services are done, last added first
}

// NewGroup returns a Group whose services run under a context derived
// from parent.
func NewGroup(parent context.Context) *Group {
	ctx, cancel := context.WithCancel(parent)
	return &Group{ctx: ctx, cancel: cancel}
}

// Context is the context the Group's services run under; it ends when
// the Group stops.
func (g *Group) Context() context.Context { return g.ctx }

// Cancel stops the Group's services without waiting for them (for a build
// that failed before anything ran).
func (g *Group) Cancel() { g.cancel() }

// Go runs fn under the Group's context.
func (g *Group) Go(fn func(ctx context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := fn(g.ctx); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
			g.cancel() // one dead service takes the others down with it
		}
	}()
}

// Defer registers cleanup (closing a store, a log file) for after the
// services have stopped.
func (g *Group) Defer(fn func()) { g.after = append(g.after, fn) }

// Stop cancels every service and waits for them.
func (g *Group) Stop() error {
	g.cancel()
	return g.Wait()
}

// Wait blocks until every service has returned, runs the cleanups and
// returns the services' errors.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel()
	for i := len(g.after) - 1; i >= 0; i-- {
		g.after[i]()
	}
	g.after = nil
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}
