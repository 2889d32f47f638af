package redisstore

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subscribed reports whether this instance is listening for invalidations
// now.
func (t *Tiered) Subscribed() bool { return t.subUp.Load() }

// WaitSubscribed returns when the first subscription is up, or ctx ends.
func (t *Tiered) WaitSubscribed(ctx context.Context) error {
	select {
	case <-t.subReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// subscribe keeps a subscription to the invalidation channel until ctx
// ends. Each session is a fresh PubSub: subscribe, confirm, then read
// messages, pinging when idle so a silent peer is noticed; any failure
// ends the session, and the next one, once confirmed, clears the L1
// because invalidations sent in between were missed.
func (t *Tiered) subscribe(ctx context.Context) {
	defer close(t.subDone)
	g := t.l2.g
	backoff := subscribeBackoffMin
	sessions := 0
	for {
		ps := t.newPubSub(ctx)
		if ps == nil {
			return
		}
		err := t.confirm(ctx, ps)
		if err == nil {
			// Whatever the L1 took in before this point may have been
			// invalidated unheard: start it afresh.
			t.clearL1()
			if sessions > 0 {
				t.resyncs.Add(1)
				g.log.Info("shared cache tier: invalidation subscription restored; L1 cleared", "redis", t.l2.url)
			}
			sessions++
			g.up()
			t.subUp.Store(true)
			t.readyOnce.Do(func() { close(t.subReady) })
			backoff = subscribeBackoffMin
			err = t.receive(ctx, ps)
			t.subUp.Store(false)
		}
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		g.warn("shared cache tier: invalidation subscription down; retrying", "redis", t.l2.url, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, subscribeBackoffMax)
	}
}

// newPubSub makes the session's PubSub, or nil once Close has begun.
func (t *Tiered) newPubSub(ctx context.Context) *redis.PubSub {
	t.psMu.Lock()
	defer t.psMu.Unlock()
	if ctx.Err() != nil {
		return nil
	}
	t.ps = t.l2.rdb.subscribe(ctx) // no channel: no I/O yet
	return t.ps
}

// confirm subscribes and waits for Redis to confirm it.
func (t *Tiered) confirm(ctx context.Context, ps *redis.PubSub) error {
	cctx, cancel := context.WithTimeout(ctx, subscribeConfirm)
	defer cancel()
	if err := ps.Subscribe(cctx, t.l2.channel); err != nil {
		return err
	}
	for {
		msg, err := ps.ReceiveTimeout(cctx, subscribeConfirm)
		if err != nil {
			return err
		}
		if s, ok := msg.(*redis.Subscription); ok && s.Kind == "subscribe" {
			return nil
		}
	}
}

// receive handles messages until the session fails or ctx ends.
func (t *Tiered) receive(ctx context.Context, ps *redis.PubSub) error {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, subscribeHealth)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				// Idle: make Redis say something. No answer by the
				// next timeout ends the session.
				if err := ps.Ping(ctx); err != nil {
					return err
				}
				pinged = true
				continue
			}
			return err
		}
		pinged = false
		if m, ok := msg.(*redis.Message); ok {
			t.handle(m.Payload)
		}
	}
}

// handle applies one channel message.
func (t *Tiered) handle(payload string) {
	kind, instance, gen, key, ok := parseMessage(payload)
	if !ok {
		return
	}
	if kind == msgInvalidate && instance != t.l2.instance {
		t.received.Add(1)
		t.dropL1(key, gen)
	}
	// A stored, deleted or unlocked key ends any wait for its lock.
	t.wake(key)
}

const subscribeConfirm = 2 * time.Second
