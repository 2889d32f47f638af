package stats

// Arrival classifies one received sequence number.
type Arrival int

// Classes of arrival.
const (
	New       Arrival = iota // first sight, in order
	Reordered                // first sight, but after a higher number (RFC 4737 §3.3)
	Duplicate                // seen before
	Old                      // below the tracking window: cannot tell new from duplicate
)

func (a Arrival) String() string {
	switch a {
	case New:
		return "new"
	case Reordered:
		return "reordered"
	case Duplicate:
		return "duplicate"
	default:
		return "old"
	}
}

// SeqTracker sorts arriving sequence numbers into new, reordered and
// duplicate. RFC 4737's definition is used: a packet is reordered when its
// number is lower than NextExp, one past the highest number seen so far. A
// bitmap over the last window numbers below NextExp remembers what arrived,
// so memory is fixed however long the run.
type SeqTracker struct {
	bits       []uint64
	window     uint64
	maxSeq     uint64
	started    bool
	unique     int64
	duplicates int64
	reordered  int64
	old        int64
}

// NewSeqTracker tracks the last window sequence numbers (rounded up to a
// power of two); window <= 0 means 65536.
func NewSeqTracker(window int) *SeqTracker {
	w := uint64(1 << 16)
	if window > 0 {
		w = 64
		for w < uint64(window) {
			w <<= 1
		}
	}
	return &SeqTracker{bits: make([]uint64, w/64), window: w}
}

func (t *SeqTracker) slot(seq uint64) (int, uint64) {
	i := seq & (t.window - 1)
	return int(i / 64), 1 << (i % 64)
}

// Observe classifies seq and records it.
func (t *SeqTracker) Observe(seq uint64) Arrival {
	if !t.started || seq > t.maxSeq {
		// Slots between the old maximum and seq now stand for numbers that
		// have not arrived: clear what they held from a window ago.
		if t.started {
			gap := seq - t.maxSeq
			if gap >= t.window {
				clear(t.bits)
			} else {
				for s := t.maxSeq + 1; s < seq; s++ {
					w, b := t.slot(s)
					t.bits[w] &^= b
				}
			}
		}
		w, b := t.slot(seq)
		t.bits[w] |= b
		t.maxSeq, t.started = seq, true
		t.unique++
		return New
	}
	if t.maxSeq-seq >= t.window {
		t.old++
		return Old
	}
	w, b := t.slot(seq)
	if t.bits[w]&b != 0 {
		t.duplicates++
		return Duplicate
	}
	t.bits[w] |= b
	t.unique++
	t.reordered++
	return Reordered
}

// Unique counts distinct numbers seen (new plus reordered).
func (t *SeqTracker) Unique() int64 { return t.unique }

// Duplicates counts arrivals of numbers already seen.
func (t *SeqTracker) Duplicates() int64 { return t.duplicates }

// Reordered counts first arrivals below NextExp.
func (t *SeqTracker) Reordered() int64 { return t.reordered }

// OldCount counts arrivals too far below the maximum to classify.
func (t *SeqTracker) OldCount() int64 { return t.old }

// MaxSeq is the highest number seen; ok is false before the first.
func (t *SeqTracker) MaxSeq() (uint64, bool) { return t.maxSeq, t.started }
