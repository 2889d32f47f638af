package icmp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

type probeState struct {
	sent     time.Time
	inFlight bool
	done     bool
	res      ProbeResult
}

// traceRun is the probing state of one Run. Only the scheduler's goroutine
// touches it; answers come in on a channel and finished hops go out on one.
type traceRun struct {
	t       *Tracer
	snd     sender
	answers <-chan answer
	hops    chan<- Hop // finished hops, in order, not yet named
	names   *namer     // nil: no names
	probes  []probeState
	end     int // probes at or past end are not needed
	next    int // the next probe to send
	nextHop int // the next hop to hand out
	// inFlight counts the probes sent and neither answered nor given up.
	inFlight int
	reached  bool
}

func (t *Tracer) newRun(snd sender, answers <-chan answer, hops chan<- Hop, names *namer) *traceRun {
	total := t.total()
	return &traceRun{t: t, snd: snd, answers: answers, hops: hops, names: names, probes: make([]probeState, total), end: total}
}

// schedule keeps up to InFlight probes out, lowest TTL first, and hands out
// hops in order as they complete (traceroute 2.1's algorithm). Nothing in
// it waits on anything but the answers, the probes' deadlines and ctx.
func (r *traceRun) schedule(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if r.handOut() {
			return nil
		}
		if err := r.sendMore(); err != nil {
			return err
		}
		// Take in what already arrived before judging what expired.
		if r.drain() {
			continue
		}
		wake, expired := r.expire(time.Now())
		if expired || r.inFlight == 0 {
			continue // hand out what settled, send what may now go
		}
		// Sleep until the earliest probe expires or something arrives.
		// (Since Go 1.23 Reset drops a stale tick: no draining needed.)
		timer.Reset(time.Until(wake))
		select {
		case <-ctx.Done():
			if r.giveUp() {
				return nil
			}
			ctx = context.Background() // handOut finishes on the next turn
		case <-timer.C:
		case a := <-r.answers:
			r.apply(a)
		}
	}
}

// handOut passes on the finished hops in order and reports whether every
// hop needed has gone.
func (r *traceRun) handOut() bool {
	per := r.t.perHop()
	for r.nextHop*per < r.end && r.settled(r.nextHop) {
		lo := r.nextHop * per
		hop := Hop{TTL: r.t.ttlOf(lo), Probes: make([]ProbeResult, 0, per)}
		for _, p := range r.probes[lo : lo+per] {
			r.reached = r.reached || p.res.Reached
			hop.Probes = append(hop.Probes, p.res)
		}
		r.hops <- hop // buffered for every hop: never blocks
		r.nextHop++
	}
	return r.nextHop*per >= r.end
}

// settled reports whether all of hop's probes are answered or given up.
func (r *traceRun) settled(hop int) bool {
	per := r.t.perHop()
	for _, p := range r.probes[hop*per : (hop+1)*per] {
		if !p.done {
			return false
		}
	}
	return true
}

// sendMore sends probes, lowest TTL first, while fewer than InFlight are out.
func (r *traceRun) sendMore() error {
	for r.next < r.end && r.inFlight < r.t.cfg.InFlight {
		i := r.next
		r.next++
		p := &r.probes[i]
		// The send time is taken before the write: on a short path the
		// answer can arrive before the write returns.
		p.sent = time.Now()
		if err := r.snd.send(i, r.t.ttlOf(i)); err != nil {
			r.t.log.Debug("traceroute send failed", "ttl", r.t.ttlOf(i), "err", err)
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("traceroute: %w", err)
			}
			p.done = true // counts as unanswered, like traceroute's send errors
			continue
		}
		p.inFlight = true
		p.res.Flow = r.t.flowOf(i)
		r.inFlight++
	}
	return nil
}

// drain applies every answer already waiting, reporting whether there was one.
func (r *traceRun) drain() bool {
	got := false
	for {
		select {
		case a := <-r.answers:
			r.apply(a)
			got = true
		default:
			return got
		}
	}
}

// expire gives up the probes whose wait has passed by now. It returns when
// the earliest of the others expires, and whether any probe expired.
func (r *traceRun) expire(now time.Time) (wake time.Time, expired bool) {
	wake = now.Add(time.Hour)
	for i := r.nextHop * r.t.perHop(); i < r.next; i++ {
		p := &r.probes[i]
		if !p.inFlight {
			continue
		}
		exp := p.sent.Add(r.t.waitFor(r.probes, i))
		if !exp.After(now) {
			p.inFlight, p.done = false, true
			r.inFlight--
			expired = true
			continue
		}
		if exp.Before(wake) {
			wake = exp
		}
	}
	return wake, expired
}

// giveUp ends the trace early (ctx cancelled): what is out counts as
// unanswered and the hop under way is finished with stars. It reports
// whether there is nothing to hand out.
func (r *traceRun) giveUp() bool {
	for i := range r.probes[:r.next] {
		r.probes[i].inFlight, r.probes[i].done = false, true
	}
	r.inFlight = 0
	r.end = min(r.end, r.next)
	if r.end == 0 {
		return true
	}
	per := r.t.perHop()
	r.end = (r.end + per - 1) / per * per
	for i := r.next; i < r.end; i++ {
		r.probes[i].done = true
	}
	return false
}

// apply records answer a for its probe and starts looking its sender's name
// up. A probe given up on is still taken while its hop has not been handed
// out.
func (r *traceRun) apply(a answer) {
	per := r.t.perHop()
	if a.idx >= min(r.next, r.end) || a.idx < r.nextHop*per || r.probes[a.idx].res.Answered {
		return // for a hop already handed out or not needed, or a duplicate
	}
	p := &r.probes[a.idx]
	if p.inFlight {
		p.inFlight = false
		r.inFlight--
	}
	p.done = true
	p.res.Answered = true
	p.res.From = a.from
	p.res.RTT = rtt(p.sent, a.pkt)
	p.res.Annotation = a.annot
	p.res.Reached = a.from == r.t.cfg.Target
	r.names.start(a.from) // never blocks: the lookup runs beside us
	if !a.final {
		return
	}
	// Stop after this hop: later probes are not needed.
	hopEnd := (a.idx/per + 1) * per
	if hopEnd < r.end {
		r.end = hopEnd
		for i := hopEnd; i < r.next; i++ {
			if r.probes[i].inFlight {
				r.probes[i].inFlight = false
				r.inFlight--
			}
		}
	}
}

// minShortWait is the least a shortened wait can be: on fast paths 3× the
// round trip is less than the time a busy machine takes to read the answer.
const minShortWait = 100 * time.Millisecond

// waitFor is probe i's wait: Wait, shortened as traceroute 2.1 does
// (-w MAX,HERE,NEAR = 5,3,10) once another probe of the same hop answered
// (3× its round trip) or one of a later hop did (10×).
func (t *Tracer) waitFor(probes []probeState, i int) time.Duration {
	w := t.cfg.Wait
	hop := i / t.perHop()
	for j := hop * t.perHop(); j < len(probes); j++ {
		pr := probes[j]
		if j == i || !pr.done || !pr.res.Answered {
			continue
		}
		f := t.cfg.WaitHere
		if j/t.perHop() != hop {
			f = t.cfg.WaitNear
		}
		if f < 0 {
			continue
		}
		if d := max(time.Duration(f*float64(pr.res.RTT)), minShortWait); d < w {
			w = d
		}
		if j/t.perHop() > hop+1 {
			break
		}
	}
	return w
}
