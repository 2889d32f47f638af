package monitor

// lossSplit tells which way lost UDP probes were lost, from the reflector's
// per-session receive count. A reply to probe s stamped with count c says
// the reflector had received c of the probes 0..s (in order on a path that
// does not reorder much), so s+1−c of them were lost on the way up; every
// other lost probe up to s was reflected and lost on the way back. A lost
// probe is attributed once a reply to a later probe shows which; while
// nothing comes back its direction is undecided. It is pure.
type lossSplit struct {
	maxUp     int64    // the largest s+1−c seen: up losses among probes ≤ highest
	highest   int64    // highest answered seq, −1 before any reply
	upGiven   int64    // lost probes attributed up so far
	undecided []uint64 // lost probes not yet attributed, in the order lost
	started   bool
}

// reply notes a stamped reply to seq with the reflector's count.
func (l *lossSplit) reply(seq, count uint64) {
	if !l.started {
		l.started, l.highest = true, -1
	}
	l.highest = max(l.highest, int64(seq))
	if up := int64(seq) + 1 - int64(count); up > l.maxUp {
		l.maxUp = up
	}
}

// lost notes a probe declared lost.
func (l *lossSplit) lost(seq uint64) { l.undecided = append(l.undecided, seq) }

// resolve attributes the lost probes a later reply has covered, and the
// oldest beyond limit (upstream: nothing showed the reflector saw them).
func (l *lossSplit) resolve(limit int) (up, down int64) {
	keep := l.undecided[:0]
	for i, seq := range l.undecided {
		switch {
		case l.started && int64(seq) < l.highest:
			if l.upGiven < l.maxUp {
				l.upGiven++
				up++
			} else {
				down++
			}
		case len(l.undecided)-i > limit:
			up++
		default:
			keep = append(keep, seq)
		}
	}
	l.undecided = keep
	return up, down
}

// unstamped notes a reply without reflector stamps (a plain echo server):
// the lost probes before it can never be attributed, so they are dropped.
func (l *lossSplit) unstamped(seq uint64) {
	keep := l.undecided[:0]
	for _, s := range l.undecided {
		if s >= seq {
			keep = append(keep, s)
		}
	}
	l.undecided = keep
}
